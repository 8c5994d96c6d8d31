"""Risk control in the issuing transaction of a policy: its counters, audit and refusal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from petcover.models.policies import Policy
from petcover.ports import Ports, WriteOp
from petcover.repositories import policies as policy_repo
from petcover.services.risk import checks as risk_checks

APPLICATION = "policy_application"  # the audit entity of a risk decision on an application


def ops(p: Ports, pol: Policy) -> list[WriteOp]:
    """The risk decision's counters and audit record, for the issuing transaction."""
    return risk_checks.ops(p, pol.risk, "policy", pol.number, "underwrite")


@contextmanager
def counted(p: Ports, pol: Policy) -> Iterator[None]:
    """A refusal of the issuing transaction by a full velocity counter is RISK_REFUSED."""
    amount = pol.quote.premium if pol.quote else pol.premium
    facts = risk_checks.policy_facts("underwrite", pol.holder, pol.insured, None, amount)
    ref = f"{pol.channel_id}:{pol.channel_order_id}"  # as services.policies.application_id
    written = lambda: policy_repo.by_order(p.store, pol.channel_id, pol.channel_order_id) is not None  # noqa: E731
    with risk_checks.counted(p, facts, pol.risk, APPLICATION, ref, written):
        yield
