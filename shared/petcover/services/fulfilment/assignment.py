"""The dispatch result: a pending appointment is assigned to a provider, or to the operations queue."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from petcover.domain.appointment_flow import FLOW, advance
from petcover.errors import Conflict, NotFound
from petcover.models.fulfilment import Appointment
from petcover.observability import logger
from petcover.ports import Item, Ports, WriteOp
from petcover.repositories import appointments as records
from petcover.services import locks
from petcover.services.commodities import stock
from petcover.services.fulfilment.transitions import MODULE, News, change_ops, commit, reads
from petcover.services.partners import directory

MAX_DECISION_CHARS = 4000


def _decision_summary(decision: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the appointment keeps of the dispatch decision: the why, not every candidate."""
    if not decision:
        return None
    keys = ("step", "reason", "rule_version", "region_code", "coverage_gap", "service_type", "excluded")
    summary = {k: decision[k] for k in keys if k in decision}
    if isinstance(decision.get("candidates"), list):
        summary["candidates"] = len(decision["candidates"])
    if not summary:
        summary = dict(decision)
    text = json.dumps(summary, default=str)
    if len(text) > MAX_DECISION_CHARS:
        summary = {"truncated": text[:MAX_DECISION_CHARS]}
    return json.loads(json.dumps(summary, default=str))  # type: ignore[no-any-return]


def _next_state(p: Ports, doc: Appointment, provider_id: str | None, decision: dict[str, Any]) -> str | None:
    """The state the assignment moves to; None when it is the same assignment again (a no-op)."""
    by_ops = (decision or {}).get("step") == "manual_override"
    moving = doc.status == "booked" and by_ops and provider_id and doc.provider_id not in (None, provider_id)
    # Accepted orders stay with their provider, unless it was suspended or closed meanwhile.
    if moving and doc.provider_id and not directory.account_active(p, doc.provider_id):
        return FLOW.next_state(doc.status, "reassign")
    if doc.status != "booking":
        return FLOW.next_state(doc.status, "dispatch")
    if (doc.manual and provider_id is None) or (not doc.manual and doc.provider_id == provider_id):
        return None  # the same assignment again
    if not doc.manual and not (by_ops and provider_id):
        raise Conflict(
            f"Appointment {doc.appointment_id} is already assigned to provider {doc.provider_id}.",
            code="ILLEGAL_TRANSITION",
            details={"from": doc.status, "action": "dispatch", "provider_id": doc.provider_id},
        )
    # From the operations queue, or moved by ops before the first provider accepted.
    return FLOW.next_state(doc.status, "manual")


def assign(p: Ports, appointment_id: str, provider_id: str | None, decision: dict[str, Any]) -> None:
    """The dispatch consumer's result: pending -> booking with the provider (or the ops queue).

    ``provider_id=None`` hands the order to platform operations (state booking, manual=True); a
    later call with a provider from ops is allowed from booking+manual, and ops may also move an
    order to another provider before it is accepted (decision step ``manual_override``).
    Repeating the same assignment is a no-op (the dispatch message may arrive twice); an
    appointment cancelled meanwhile is left alone, and so is a decision for a provider that has
    declined the order; ops may move an accepted order only away from a provider that is no
    longer active; anything else illegal is a 409.
    """
    lease = locks.acquire(p, appointment_id, MODULE)
    released = False
    try:
        released = _assign_held(p, lease, appointment_id, provider_id, decision)
    finally:
        if not released:
            locks.release(p, lease)


@dataclass(frozen=True)
class _Change:
    before: Appointment
    after: Appointment
    index: dict[str, Any]
    news: News | None


def _change(
    p: Ports,
    known: Mapping[tuple[str, str], Item],
    appointment_id: str,
    provider_id: str | None,
    decision: dict[str, Any],
) -> _Change | None:
    """What the assignment changes, from the appointment as read; None when there is nothing to do."""
    item = known.get(records.appointment_key(appointment_id))
    if item is None:
        raise NotFound(f"Appointment {appointment_id} does not exist.", code="APPOINTMENT_NOT_FOUND")
    doc = records.appointment_from_item(item)
    if doc.status == "cancelled":
        # Cancelled while the message waited: nothing to assign, and nothing to retry either.
        logger.info("assignment ignored: appointment cancelled", extra={"appointment_id": appointment_id})
        if doc.items:  # stock dispatch reserved after the cancellation released what there was
            stock.release(p, appointment_id, "cancelled before assignment", "system:dispatch")
        return None
    if provider_id is not None and any(d.provider_id == provider_id for d in doc.declines):
        # A decision made before the provider declined (a late or repeated message): a newer one follows.
        logger.info("assignment ignored: the provider declined it", extra={"appointment_id": appointment_id})
        return None
    new_state = _next_state(p, doc, provider_id, decision)
    if new_state is None:
        return None
    now = p.now()
    after = advance(
        doc,
        "assign" if provider_id else "manual",
        new_state,
        "system:dispatch",
        now,
        provider_id=provider_id,
        manual=provider_id is None,
        decision=_decision_summary(decision),
    )
    news = News(node="assigned", event="appointment.assigned", payload={"provider_id": provider_id})
    index = records.assignment_index(provider_id, now, appointment_id)
    return _Change(doc, after, index, news if provider_id else None)


def _assign_held(
    p: Ports, lease: locks.Lease, appointment_id: str, provider_id: str | None, decision: dict[str, Any]
) -> bool:
    """``assign`` under the lease; True when its transaction also ended the lease (the warm path)."""
    known = p.store.get_many(reads(appointment_id))
    change = _change(p, known, appointment_id, provider_id, decision)
    if change is None:
        return False
    c = change
    commit(p, lease, c.before, c.after, index=c.index, news=c.news, release=True, known=known)
    return True


def first_assignment_ops(
    p: Ports, known: Mapping[tuple[str, str], Item], appointment_id: str, provider_id: str, decision: dict[str, Any]
) -> tuple[list[WriteOp], list[str]] | None:
    """A new order's first assignment to a provider as writes for the dispatch decision's own
    transaction, and the outbox ids to release after it; ``known`` holds ``reads(appointment_id)``.

    Instead of taking the order's lock it is held by the appointment's state and version and by
    nobody holding the lock at commit (``locks.free_check``): one transaction for deciding and
    assigning. None for anything but a pending order (``assign`` handles those under the lock)."""
    item = known.get(records.appointment_key(appointment_id))
    if item is None or records.appointment_from_item(item).status != "pending":
        return None
    change = _change(p, known, appointment_id, provider_id, decision)
    if change is None:
        return None
    c = change
    guard = locks.free_check(p, appointment_id, MODULE)
    return change_ops(p, c.before, c.after, guard, index=c.index, news=c.news, known=known)
