"""Booking: a channel books a service benefit of an active policy; one use is held at once.

The eligibility rules are in ``domain.booking``; here the booking is one transaction (the
appointment, the benefit's open-appointment marker, the quota hold, a check that the policy is
still active) and a refused transaction is explained (duplicate, exhausted, policy changed).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from petcover.domain import booking as rules
from petcover.domain import calendar
from petcover.domain import commodities as goods
from petcover.domain.insurer_routing import INHOUSE
from petcover.errors import BusinessRuleViolation, Conflict, StaleWrite
from petcover.identity import Principal
from petcover.models.fulfilment import Appointment, BookingRequest, BookingResponse, Step
from petcover.models.policies import BenefitBalance, Policy
from petcover.ports import Check, Ports, WriteOp
from petcover.repositories import appointments as records
from petcover.repositories import commodities as goods_records
from petcover.repositories import overview as overview_repo
from petcover.repositories import policies as policy_records
from petcover.services import catalog, outbox, policies, quota
from petcover.services.commodities import catalog as commodity_catalog
from petcover.services.fulfilment.transitions import (
    DISPATCH_QUEUE,
    News,
    actor,
    announcement_ops,
    insurer_counter_ops,
)
from petcover.services.risk import bookings as risk_bookings
from petcover.services.risk import checks as risk_checks


def new_appointment_id(now: datetime) -> str:
    return f"AP{calendar.day_of(now):%y%m%d}{secrets.token_hex(6).upper()}"


def dispatch_message(doc: Appointment) -> dict[str, Any]:
    """The DispatchQueue message that asks dispatch to choose a provider for the appointment."""
    return {
        "appointment_id": doc.appointment_id,
        "policy_number": doc.policy_number,
        "channel_id": doc.channel_id,
        "service_type": doc.service_type,
        "province": doc.address.province,
        "city": doc.address.city,
        "district": doc.address.district,
        "national": doc.scope == "national",
        **({"items": {i.sku: i.quantity for i in doc.items}} if doc.items else {}),
        **({"insurer_id": doc.insurer_id} if doc.insurer_id else {}),
    }


def announce_booking(
    p: Ports, doc: Appointment, outbox_ids: list[str], payload: dict[str, Any] | None = None
) -> list[WriteOp]:
    """The booking's messages, for its own transaction: the dispatch request and the channel's
    ``appointment.booked`` webhook. Their outbox ids go to ``outbox_ids``, to release after it.
    A booking held for a risk review is dispatched when staff approve it (``services.risk.bookings``)."""
    hook_ops, hook_ids = announcement_ops(p, doc, News(event="appointment.booked", payload=payload, first=True))
    if doc.risk_review is not None:
        outbox_ids += hook_ids
        return hook_ops
    queued, oid = outbox.message(p, queue=DISPATCH_QUEUE, body=dispatch_message(doc))
    outbox_ids += [oid, *hook_ids]  # dispatch first: it is what the owner waits for
    return [queued, *hook_ops]


def _service_terms(p: Ports, pol: Policy, benefit_code: str) -> dict[str, Any]:
    """The benefit's scope, the product's insurer and its code, from the policy's product version (cached)."""
    product = catalog.get_version(p, pol.product_code, pol.product_version)
    scope = next(
        (
            b.scope
            for plan in product.plans
            if plan.code == pol.plan_code
            for b in plan.benefits
            if b.code == benefit_code
        ),
        "local",
    )
    return {"scope": scope, "insurer_id": product.insurer_id, "product_code": pol.product_code}


def _underwriter(pol: Policy) -> str | None:
    """The insurer that underwrote the policy, when not in-house (its portal counts the booking)."""
    return pol.insurer.insurer_id if pol.insurer and pol.insurer.insurer_id != INHOUSE else None


def _eligible(
    p: Ports, who: Principal, policy_number: str, req: BookingRequest, now: datetime, check_contract: bool
) -> tuple[Policy, BenefitBalance, str]:
    """The policy (the caller's own), the benefit to book and its mode, or why not.

    A channel's call was checked against its contract by the adapter; a batch item is checked here.
    """
    pol = policies.get_for(p, who, policy_number)
    if check_contract:
        catalog.authorize(p, pol.channel_id, pol.product_code, "book", calendar.today(now))
    benefit, mode = rules.bookable_benefit(pol, policy_number, req, now)
    rules.check_request(req, mode, p.now())
    rules.check_uses_left(benefit, policy_number)
    return pol, benefit, mode


def _pending(
    who: Principal,
    pol: Policy,
    policy_number: str,
    benefit: BenefitBalance,
    mode: str,
    req: BookingRequest,
    *,
    appointment_id: str,
    batch: str | None,
    now: datetime,
    items: list[goods.PricedItem],
) -> Appointment:
    """The new appointment, pending dispatch."""
    return Appointment(
        appointment_id=appointment_id,
        policy_number=policy_number,
        channel_id=pol.channel_id,
        benefit_code=benefit.code,
        benefit_name=benefit.name,
        service_type=benefit.service_type,
        mode=mode,  # type: ignore[arg-type]
        status="pending",
        version=1,
        pet=req.pet,
        address=req.address,
        preferred_time=req.preferred_time if mode == "offline" else None,
        note=req.note,
        created_at=now,
        updated_at=now,
        batch=batch,
        steps=[Step(at=now, action="book", by=actor(who), state="pending")],
        items=items,
    )


def coverage(benefit: BenefitBalance) -> goods.Coverage:
    return goods.Coverage(benefit.commodity_categories, benefit.commodity_skus, benefit.item_allowance)


def priced_items(
    p: Ports, pol: Policy, benefit: BenefitBalance, req: BookingRequest, now: datetime
) -> list[goods.PricedItem]:
    """The request's items checked against the benefit's coverage and the catalogue in effect now."""
    items = req.items or []
    found = commodity_catalog.in_effect(p, [i.sku for i in items], now) if items else {}
    return goods.check_items(benefit.code, coverage(benefit), items, found, pol.insured.species)


def _allowance_refusal(p: Ports, policy_number: str, benefit: BenefitBalance, items: list[goods.PricedItem]) -> None:
    if benefit.item_allowance is None or not items:
        return
    taken = goods_records.allowance_taken(p, policy_number, benefit.code, [i.sku for i in items])
    for i in items:
        if taken[i.sku] + i.quantity > benefit.item_allowance:
            raise BusinessRuleViolation(
                f"Benefit {benefit.code} allows {benefit.item_allowance} units of {i.sku} per term; "
                f"{taken[i.sku]} are taken, {i.quantity} more asked.",
                code="ALLOWANCE_EXCEEDED",
                details={"sku": i.sku, "taken": taken[i.sku], "allowance": benefit.item_allowance},
            ) from None


def _explain_refusal(
    p: Ports, policy_number: str, benefit_code: str, limited: bool, appointment_id: str | None
) -> Appointment:
    """The booking transaction was refused: the replayed appointment, or the reason as an error.

    Called while the refusal (StaleWrite) is handled; ``from None`` keeps it out of the error.
    """
    if appointment_id is not None:
        existing = records.find_appointment(p, appointment_id)
        if existing is not None:
            return existing
    marker = records.find_open_marker(p, policy_number, benefit_code)
    if marker is not None:
        raise Conflict(
            f"Benefit {benefit_code} of policy {policy_number} already has an open appointment "
            f"({marker.get('ref')}); complete or cancel it before booking again (duplicate booking).",
            code="DUPLICATE_BOOKING",
            details={"appointment_id": marker.get("ref")},
        ) from None
    bal = quota.balance(p, policy_number, benefit_code)
    if limited and bal is not None and int(bal.get("available", 0)) < 1:
        raise BusinessRuleViolation(
            f"Benefit {benefit_code} of policy {policy_number} has no uses left.", code="QUOTA_EXHAUSTED"
        ) from None
    pitem = p.store.get(*policy_records.policy_key(policy_number))
    if pitem is not None and pitem.get("state") != "active":
        raise BusinessRuleViolation(
            f"Policy {policy_number} is {pitem.get('state')}; only an active policy can book services.",
            code="POLICY_NOT_ACTIVE",
        ) from None
    raise Conflict("The policy changed meanwhile; retry the booking.", code="POLICY_CHANGED") from None


def book(
    p: Ports,
    who: Principal,
    policy_number: str,
    req: BookingRequest,
    *,
    appointment_id: str | None = None,
    batch: str | None = None,
    extra_ops: list[WriteOp] | None = None,
    extra_for: Callable[[Appointment, int | None], list[WriteOp]] | None = None,
    check_contract: bool = False,
) -> tuple[Appointment, int | None, bool]:
    """Create the appointment and hold one use: (appointment, uses left, replayed).

    With ``appointment_id`` (a business key) the booking is idempotent: if that appointment
    already exists it is returned with replayed=True and nothing moves again.
    """
    now = p.now()
    pol, benefit, mode = _eligible(p, who, policy_number, req, now, check_contract)
    limited = benefit.quota is not None
    aid = appointment_id or new_appointment_id(now)
    items = priced_items(p, pol, benefit, req, now)
    doc = _pending(who, pol, policy_number, benefit, mode, req, appointment_id=aid, batch=batch, now=now, items=items)
    doc = doc.model_copy(update={**_service_terms(p, pol, benefit.code), "underwriter_id": _underwriter(pol)})
    left = (benefit.available - 1) if limited and benefit.available is not None else None
    facts, decision = risk_bookings.check(p, pol, req, items)
    doc = risk_bookings.held(p, doc, decision)
    ops: list[WriteOp] = [
        *(goods_records.take_allowance(policy_number, benefit.code, i, benefit.item_allowance) for i in items),
        records.new_appointment(doc),
        records.open_marker(policy_number, benefit.code, aid, pol.channel_id),
        quota.hold_op(policy_number, benefit.code, limited),
        Check(*policy_records.policy_key(policy_number), expect=[("state", "=", "active")]),
        quota.activity_op(p, policy_number, benefit.code),
        overview_repo.day_add(calendar.day_of(now), {"bookings": 1}),
        *insurer_counter_ops(doc, "bookings", now),
        *risk_bookings.ops(p, doc, decision),
        *(extra_ops or []),
        *(extra_for(doc, left) if extra_for else []),
    ]
    try:
        with risk_checks.counted(p, facts, decision, "booking_application", policy_number):
            p.store.transact(ops)
    except StaleWrite:
        if appointment_id is None or records.find_appointment(p, appointment_id) is None:
            _allowance_refusal(p, policy_number, benefit, items)
        return _explain_refusal(p, policy_number, benefit.code, limited, appointment_id), None, True
    return doc, left, False


def _response(doc: Appointment, left: int | None) -> BookingResponse:
    return BookingResponse(
        appointment_id=doc.appointment_id,
        status=doc.status,
        policy_number=doc.policy_number,
        benefit_code=doc.benefit_code,
        mode=doc.mode,
        created_at=doc.created_at,
        quota_available=left,
    )


def book_appointment(
    p: Ports,
    who: Principal,
    policy_number: str,
    req: BookingRequest,
    record: Callable[[BookingResponse], WriteOp] | None = None,
) -> BookingResponse:
    """POST /policies/{number}/appointments: answers at once; dispatch runs asynchronously.

    ``record``: the request's idempotency record holding this answer, written with the booking.
    """
    # The dispatch message and the booked webhook are written with the booking (outbox): a crash or
    # an SQS outage after the commit delays them by the sweep interval instead of losing them.
    ids: list[str] = []

    def with_booking(d: Appointment, left: int | None) -> list[WriteOp]:
        return [*announce_booking(p, d, ids), *([record(_response(d, left))] if record else [])]

    doc, left, _ = book(p, who, policy_number, req, extra_for=with_booking)
    outbox.release(p, *ids)
    return _response(doc, left)
