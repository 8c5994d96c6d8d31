"""Handing a dispatch decision to fulfilment, which moves the appointment (idempotent on its side).

Two ways: after the decision has settled, ``assign`` under the order's lock; or, for a new order,
the assignment's writes in the decision's own transaction (``with_decision``), from one batched
read of today's counts and what the assignment needs (``counts``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from petcover.models.dispatch import DispatchDecision, DispatchMessage
from petcover.ports import Item, Ports, WriteOp
from petcover.services.dispatch import counters, rules
from petcover.services.fulfilment import assignment as fulfilment_assignment

# (ports, appointment_id, provider_id or None for the operations queue, decision as JSON)
AssignFn = Callable[[Ports, str, str | None, dict[str, Any]], Any]


def default_assign() -> AssignFn:
    """``fulfilment.assignment.assign``, looked up when called so a test can hand decisions to a recorder instead."""
    return fulfilment_assignment.assign


Known = dict[tuple[str, str], Item]


def counts(
    p: Ports, day: str, scope: str, provider_ids: Sequence[str], msg: DispatchMessage, together: bool
) -> tuple[dict[str, int], Known]:
    """Today's counts of the rule's providers, read by key in one batch with the rules' HEAD
    (``rules.moved``); ``together``: with the appointment, its open work order and its webhook
    version too (``fulfilment.assignment.reads``), for the hand-off in the decision's transaction."""
    keys = [*counters.count_keys(day, scope, provider_ids), rules.head_key()]
    if together:
        keys += fulfilment_assignment.reads(msg.appointment_id)
    known = p.store.get_many(keys)
    return counters.counts_in(known, day, scope, provider_ids), known


def with_decision(p: Ports, known: Known | None, decision: DispatchDecision) -> tuple[list[WriteOp], list[str]] | None:
    """The assignment's writes for the decision's transaction and the outbox ids to release after
    it; None when the order is not a pending one read with the counts (it then goes to ``assign``)."""
    if known is None or decision.provider_id is None:
        return None
    as_json = decision.model_dump(mode="json")
    return fulfilment_assignment.first_assignment_ops(p, known, decision.appointment_id, decision.provider_id, as_json)
