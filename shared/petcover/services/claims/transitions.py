"""The one conditional write of a claim, and why one was refused.

Every state write is conditional on the state and version read, so of two racing writers exactly
one wins. The loser re-reads: an update re-runs while the claim can still be changed (else 409
CLAIM_CHANGED); the automatic decision re-evaluates the claim as it now is.

A change that asks for an automatic decision (a submission, an update) writes the request for it
to ``DECISION_QUEUE`` through the outbox in the same transaction: it is sent right after the commit,
or by the minute sweeper when the process died first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from petcover.domain.money import from_cents
from petcover.errors import BusinessRuleViolation, Conflict, DomainError
from petcover.models.claims import Claim
from petcover.ports import Ports, Put, WriteOp
from petcover.repositories import claims as claim_repo
from petcover.repositories import policies as policy_repo
from petcover.repositories.claims import QueueMove
from petcover.services import audit, outbox
from petcover.services.claims import notices

ATTEMPTS = 3  # re-reads after a lost race before giving up with 409 CLAIM_CHANGED
DECISION_QUEUE = "claim_decision"  # ClaimDecisionQueue: one message per change to decide


def brief(c: Claim) -> dict[str, Any]:
    """What the audit trail keeps of a claim before and after a step."""
    return notices.jsonable(
        {
            "status": c.status,
            "version": c.version,
            "amount": c.amount,
            "approved_amount": c.approved_amount,
            "paid_amount": c.paid_amount,
            "decision": c.decision.model_dump(mode="json") if c.decision else None,
        }
    )


def advance(c: Claim, now: datetime, **changes: Any) -> Claim:
    """The claim's next version with ``changes``."""
    return c.model_copy(update={"version": c.version + 1, "updated_at": now, **changes})


def commit(
    p: Ports,
    actor: str,
    before: Claim,
    after: Claim,
    action: str,
    *,
    queue: QueueMove = "keep",
    extra_ops: Sequence[WriteOp] = (),
    announce: bool = False,
    reason: str | None = None,
) -> Claim:
    """Write ``after`` only if the claim is still in ``before``'s state and version (else StaleWrite).

    A status change (or ``announce``) puts a webhook in the outbox in the same transaction; it is
    queued right after the commit. The step is audited in the same transaction.
    """
    now = p.now()
    ops: list[WriteOp] = [claim_repo.claim_update(before, after, now, queue), *extra_ops]
    trail = audit.entry(
        p, actor, "claim", before.claim_number, action, before=brief(before), after=brief(after), reason=reason
    )
    ops.append(trail)
    hook = notices.outbox_item(after, before.status, now) if (after.status != before.status or announce) else None
    if hook is not None:
        ops.append(Put(hook, if_absent=True))
    p.store.transact(ops)
    if hook is not None:
        notices.announce(p, hook)
    return after


def decision_body(c: Claim) -> dict[str, Any]:
    """The ``DECISION_QUEUE`` message asking for ``c``'s automatic decision (``DecisionRequest``)."""
    return {"claim_number": c.claim_number, "version": c.version}


def commit_and_decide(
    p: Ports,
    actor: str,
    before: Claim,
    after: Claim,
    action: str,
    *,
    extra_ops: Sequence[WriteOp] = (),
    reason: str | None = None,
) -> Claim:
    """``commit`` back into the automatic queue, with the decision request in the same transaction;
    it is released after the webhook, so the channel hears of the change before its outcome."""
    request, oid = outbox.message(p, queue=DECISION_QUEUE, body=decision_body(after))
    out = commit(p, actor, before, after, action, queue="add", extra_ops=[*extra_ops, request], reason=reason)
    outbox.release(p, oid)
    return out


def exceeds(policy_number: str, remaining_cents: int, cents: int) -> BusinessRuleViolation:
    return BusinessRuleViolation(
        f"{from_cents(cents)} exceeds the remaining sum insured of policy {policy_number} "
        f"({from_cents(remaining_cents)}).",
        code="SUM_INSURED_EXCEEDED",
        details={"remaining": str(from_cents(remaining_cents)), "amount": str(from_cents(cents))},
    )


def refusal(p: Ports, before: Claim, cents: int | None = None) -> DomainError:
    """Why a conditional write on the claim (and, with ``cents``, its policy) was refused, in words."""
    item = p.store.get(*claim_repo.claim_key(before.claim_number))
    if item is None or item.get("state") != before.status or int(item.get("version", 0)) != before.version:
        now_state = item.get("state") if item else "gone"
        return Conflict(
            f"Claim {before.claim_number} changed meanwhile (it is now {now_state}); reload and retry.",
            code="CLAIM_CHANGED",
            details={"status": now_state},
        )
    if cents is None:
        return Conflict("The claim changed meanwhile; retry.", code="CLAIM_CHANGED", retry_after=1)
    pol = p.store.get(*policy_repo.policy_key(before.policy_number)) or {}
    if pol.get("state") != "active":
        return BusinessRuleViolation(
            f"Policy {before.policy_number} is {pol.get('state', 'gone')}; nothing can be paid on it.",
            code="POLICY_NOT_ACTIVE",
        )
    remaining = policy_repo.remaining_cents(pol)
    if remaining < cents:
        return exceeds(before.policy_number, remaining, cents)
    return Conflict("The claim or its policy changed meanwhile; retry.", code="CLAIM_CHANGED", retry_after=1)
