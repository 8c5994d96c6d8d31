"""How an appointment ends: fulfilled (receipt, delivery) or cancelled, freeing its benefit.

Fulfilled, with a QuotaQueue message (outbox, same transaction) that turns the held use into a
used one; cancelled releases the held use in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from petcover.config import get_settings
from petcover.domain.appointment_flow import FLOW, advance, need_mode
from petcover.errors import Conflict, DomainError
from petcover.identity import Principal
from petcover.models.fulfilment import Appointment
from petcover.ports import Delete, Ports
from petcover.repositories import appointments as records
from petcover.repositories import risk as risk_records
from petcover.services import locks, quota
from petcover.services.fulfilment import goods, ownership, views
from petcover.services.fulfilment.transitions import (
    TRANSIENT_CODES,
    News,
    actor,
    commit,
    is_limited,
    locked,
    release_ops,
)
from petcover.services.money import fees

AUTO_RECEIPT_LOOKBACK_DAYS = 3  # a missed daily run is caught up by the next ones


def fulfil(
    p: Ports,
    who: Principal | str,
    doc: Appointment,
    lease: locks.Lease,
    action: str,
    *,
    payload: Mapping[str, Any] | None = None,
    **changes: Any,
) -> None:
    """fulfilling -> fulfilled under the caller's lease; the benefit is free for a new booking."""
    new_state = FLOW.next_state(doc.status, "complete")
    now = p.now()
    after = advance(doc, action, new_state, actor(who), now, fulfilled_at=now, **changes)
    # The deduction request commits with the fulfilled state (outbox); the ledger deducts after.
    news = News(
        node="completed",
        event="appointment.fulfilled",
        payload={"fulfilled_at": now.isoformat(), **(payload or {})},
        messages=(quota.deduction_request(p, doc.appointment_id, doc.policy_number, doc.benefit_code),),
    )
    ops = [*release_ops(p, doc), *fees.fee_ops(p, doc, now)]  # the provider's fee, once per order
    commit(p, lease, doc, after, index=records.out_of_shipped_index(), ops=ops, news=news)


def confirm_receipt(p: Ports, who: Principal | str, appointment_id: str) -> Appointment:
    """Online: the owner confirms receipt (through the channel), or the daily job does it."""
    auto = isinstance(who, str)
    with locked(p, appointment_id) as lease:
        doc = ownership.load(p, appointment_id) if auto else ownership.own_appointment(p, who, appointment_id)  # type: ignore[arg-type]
        need_mode(doc, "online", "confirming receipt")
        fulfil(p, who, doc, lease, "receipt", receipt="auto" if auto else "owner")
    return views.get_for_channel(p, None if auto else who, appointment_id)  # type: ignore[arg-type]


def auto_receipts(p: Ports) -> dict[str, Any]:
    """Daily: shipped orders not confirmed within AUTO_RECEIPT_DAYS are received automatically.

    Bounded: one index query per shipping day (gsi3 SHIPPED#{day}), for the cut-off day and a
    few days before it; received orders leave the index, so nothing is read twice.
    """
    days = get_settings().auto_receipt_days
    now = p.now()
    cutoff = now - timedelta(days=days)
    last_day = date.fromisoformat(quota.business_day(p, cutoff))
    confirmed, failed = 0, []
    for back in range(AUTO_RECEIPT_LOOKBACK_DAYS, -1, -1):
        day = (last_day - timedelta(days=back)).isoformat()
        for item in records.shipped_until(p, day, cutoff):
            if item.get("state") != "fulfilling":
                continue
            try:
                confirm_receipt(p, "system:auto-receipt", str(item["ref"]))
                confirmed += 1
            except DomainError as exc:
                failed.append({"appointment_id": item["ref"], "code": exc.code})
    return {"cutoff": cutoff.isoformat(), "confirmed": confirmed, "failed": failed}


def _cancel(p: Ports, who: Principal | str, appointment_id: str, reason: str) -> Appointment:
    with locked(p, appointment_id) as lease:
        if isinstance(who, Principal):
            doc = ownership.own_appointment(p, who, appointment_id)
        else:
            doc = ownership.load(p, appointment_id)
        new_state = FLOW.next_state(doc.status, "cancel")
        now = p.now()
        after = advance(
            doc, "cancel", new_state, actor(who), now, cancelled_at=now, cancel_reason=reason, risk_review=None
        )
        ops = [quota.release_op(doc.policy_number, doc.benefit_code, is_limited(p, doc)), *release_ops(p, doc)]
        if doc.risk_review is not None:  # held for a risk review: out of the staff queue with it
            ops.append(Delete(*risk_records.booking_review_key(appointment_id)))
        stock_ops, touched = goods.cancellation_ops(p, who, doc, reason)
        news = News(node="cancelled", event="appointment.cancelled", payload={"reason": reason})
        commit(p, lease, doc, after, index=records.out_of_shipped_index(), ops=[*ops, *stock_ops], news=news)
    goods.after_moves(p, touched)
    return after


def cancel(p: Ports, who: Principal, appointment_id: str, reason: str) -> Appointment:
    """Channel: cancel from pending, booking or booked; the held use is released."""
    _cancel(p, who, appointment_id, reason)
    return views.get_for_channel(p, who, appointment_id)


def cancel_for_policy(p: Ports, policy_number: str, reason: str | None) -> dict[str, Any]:
    """PolicyCancelled: cancel the policy's open appointments and release their holds (idempotent).

    A service already under way (fulfilling) cannot be cancelled; it is reported and finishes.
    Lock contention is raised after the others were done, so the event is retried.
    """
    cancelled: list[str] = []
    under_way: list[str] = []
    busy: list[str] = []
    text = f"Policy {policy_number} was cancelled" + (f": {reason}" if reason else ".")
    for marker in records.open_markers(p, policy_number):
        aid = str(marker["ref"])
        try:
            _cancel(p, "system:policy-cancelled", aid, text)
            cancelled.append(aid)
        except Conflict as exc:
            if exc.code in TRANSIENT_CODES:
                busy.append(aid)
            else:
                under_way.append(aid)
    result = {"policy_number": policy_number, "cancelled": cancelled, "under_way": under_way, "busy": busy}
    if busy:
        raise Conflict(
            f"Appointments {', '.join(busy)} were busy; the event will be retried.",
            code="ORDER_LOCKED",
            details=result,
            retry_after=1,
        )
    return result
