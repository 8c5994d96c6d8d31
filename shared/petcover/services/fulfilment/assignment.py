"""The dispatch result: a pending appointment is assigned to a provider, or to the operations queue."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from petcover.domain.appointment_flow import FLOW, advance
from petcover.errors import Conflict, NotFound
from petcover.models.fulfilment import Appointment
from petcover.observability import logger
from petcover.ports import Ports
from petcover.repositories import appointments as records
from petcover.services import locks
from petcover.services.commodities import stock
from petcover.services.fulfilment.transitions import MODULE, News, commit, reads
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


def _assign_held(
    p: Ports, lease: locks.Lease, appointment_id: str, provider_id: str | None, decision: dict[str, Any]
) -> bool:
    """``assign`` under the lease; True when its transaction also ended the lease (the warm path)."""
    known = p.store.get_many(reads(appointment_id))
    item = known.get(records.appointment_key(appointment_id))
    if item is None:
        raise NotFound(f"Appointment {appointment_id} does not exist.", code="APPOINTMENT_NOT_FOUND")
    doc = records.appointment_from_item(item)
    if doc.status == "cancelled":
        # Cancelled while the message waited: nothing to assign, and nothing to retry either.
        logger.info("assignment ignored: appointment cancelled", extra={"appointment_id": appointment_id})
        if doc.items:  # stock dispatch reserved after the cancellation released what there was
            stock.release(p, appointment_id, "cancelled before assignment", "system:dispatch")
        return False
    if provider_id is not None and any(d.provider_id == provider_id for d in doc.declines):
        # A decision made before the provider declined (a late or repeated message): a newer one follows.
        logger.info("assignment ignored: the provider declined it", extra={"appointment_id": appointment_id})
        return False
    new_state = _next_state(p, doc, provider_id, decision)
    if new_state is None:
        return False
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
    commit(
        p,
        lease,
        doc,
        after,
        index=records.assignment_index(provider_id, now, appointment_id),
        news=news if provider_id else None,
        release=True,
        known=known,
    )
    return True
