"""The provider's side: its work orders, and each step of serving one (accept to deliver).

Online services are shipped and tracked (the owner confirms receipt, see ``closing``); offline
ones get a confirmed time and a one-time check-in code, are checked in and delivered.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from petcover.domain import booking as rules
from petcover.domain.appointment_flow import FLOW, advance, need_mode
from petcover.errors import BusinessRuleViolation, Conflict, Forbidden
from petcover.identity import Principal
from petcover.models.fulfilment import (
    Appointment,
    CheckIn,
    CheckInRequest,
    ConfirmTimeRequest,
    DeliverRequest,
    Shipment,
    ShipRequest,
    TrackingEvent,
    TrackingRequest,
    WorkOrder,
    WorkOrderList,
)
from petcover.ports import Item, Ports
from petcover.repositories import appointments as records
from petcover.services import quota
from petcover.services.fulfilment import closing, goods, ownership
from petcover.services.fulfilment.transitions import News, actor, commit, locked

MAX_TRACKING_EVENTS = 50
CHECKIN_VALID_AFTER_APPOINTMENT = timedelta(hours=24)
CHECKIN_MAX_WRONG_ATTEMPTS = 5


def _work_order(doc: Appointment, checked_in: bool = False) -> WorkOrder:
    return WorkOrder(
        appointment_id=doc.appointment_id,
        status=doc.status,
        service_type=doc.service_type,
        benefit_name=doc.benefit_name,
        mode=doc.mode,
        pet=doc.pet,
        address=doc.address,
        preferred_time=doc.preferred_time,
        appointment_time=doc.appointment_time,
        note=doc.note,
        shipment=doc.shipment,
        items=doc.items,
        checked_in=checked_in or any(s.action == "check_in" for s in doc.steps),
        created_at=doc.created_at,
        updated_at=doc.updated_at,
        fulfilled_at=doc.fulfilled_at,
        cancelled_at=doc.cancelled_at,
        version=doc.version,
    )


def list_work_orders(
    p: Ports, who: Principal, *, status: str | None = None, limit: int = 50, cursor: str | None = None
) -> WorkOrderList:
    if who.kind != "provider":
        raise Forbidden("Work orders are for providers only.", code="WRONG_PARTNER_KIND")
    page = records.work_orders_page(p, who.id, limit=limit, cursor=cursor)
    items = []
    for item in page.items:
        doc = records.appointment_from_item(item)
        if doc.provider_id != who.id or (status and doc.status != status):
            continue
        items.append(_work_order(doc))
    return WorkOrderList(items=items, cursor=page.cursor)


def get_work_order(p: Ports, who: Principal, appointment_id: str) -> WorkOrder:
    return _work_order(ownership.own_work_order(p, who, appointment_id))


def accept(p: Ports, who: Principal, appointment_id: str) -> WorkOrder:
    with locked(p, appointment_id) as lease:
        doc = ownership.own_work_order(p, who, appointment_id)
        new_state = FLOW.next_state(doc.status, "book")
        after = advance(doc, "accept", new_state, actor(who), p.now())
        news = News(node="accepted", event="appointment.accepted", payload={"provider_id": who.id})
        commit(p, lease, doc, after, news=news)
    return _work_order(after)


def _new_code(appointment_id: str, appointment_time: datetime) -> CheckIn:
    code = f"{secrets.randbelow(10**8):08d}"
    expires = appointment_time + CHECKIN_VALID_AFTER_APPOINTMENT
    return CheckIn(code=code, qr_payload=f"petcover://check-in?a={appointment_id}&c={code}", expires_at=expires)


def confirm_time(p: Ports, who: Principal, appointment_id: str, req: ConfirmTimeRequest) -> WorkOrder:
    """Offline: the provider fixes the time; a new one-time check-in code replaces any earlier one."""
    with locked(p, appointment_id) as lease:
        doc = ownership.own_work_order(p, who, appointment_id)
        need_mode(doc, "offline", "confirming an appointment time")
        new_state = FLOW.next_state(doc.status, "confirm_time")
        now = p.now()
        rules.check_appointment_time(req.appointment_time, now)
        ci = _new_code(doc.appointment_id, req.appointment_time)
        issued = records.issued_checkin(doc.appointment_id, ci, p.now())
        after = advance(doc, "confirm_time", new_state, actor(who), now, appointment_time=req.appointment_time)
        news = News(
            node="appointment_confirmed",
            event="appointment.time_confirmed",
            payload={"appointment_time": req.appointment_time.isoformat(), "checkin": ci.model_dump(mode="json")},
        )
        commit(p, lease, doc, after, ops=[issued], news=news)
    return _work_order(after)


def ship(p: Ports, who: Principal, appointment_id: str, req: ShipRequest) -> WorkOrder:
    with locked(p, appointment_id) as lease:
        doc = ownership.own_work_order(p, who, appointment_id)
        need_mode(doc, "online", "shipping")
        new_state = FLOW.next_state(doc.status, "start")
        now = p.now()
        shipment = Shipment(carrier=req.carrier, tracking_number=req.tracking_number, shipped_at=now)
        shipment, ops, touched = goods.shipment_of(p, who, doc, req, shipment)
        after = advance(doc, "ship", new_state, actor(who), now, shipment=shipment)
        index = records.shipped_index(quota.business_day(p, now), now, appointment_id)
        news = News(
            node="shipped",
            event="appointment.shipped",
            payload={"carrier": req.carrier, "tracking_number": req.tracking_number, **goods.shipped_payload(shipment)},
        )
        commit(p, lease, doc, after, index=index, ops=ops, news=news)
    goods.after_moves(p, touched)
    return _work_order(after)


def track(p: Ports, who: Principal, appointment_id: str, req: TrackingRequest) -> WorkOrder:
    with locked(p, appointment_id) as lease:
        doc = ownership.own_work_order(p, who, appointment_id)
        need_mode(doc, "online", "tracking")
        new_state = FLOW.next_state(doc.status, "track")
        now = p.now()
        assert doc.shipment is not None
        ev = TrackingEvent(at=req.at or now, status=req.status, description=req.description, location=req.location)
        shipment = doc.shipment.model_copy(update={"events": [*doc.shipment.events, ev][-MAX_TRACKING_EVENTS:]})
        after = advance(doc, "track", new_state, actor(who), now, shipment=shipment)
        news = News(event="appointment.tracking", payload={"tracking": ev.model_dump(mode="json")})
        commit(p, lease, doc, after, news=news)
    return _work_order(after)


def _verify_code(p: Ports, appointment_id: str, item: Item | None, code: str, now: datetime) -> None:
    """The stored code matches, unused and unexpired; a wrong one counts towards the lock-out."""
    if item is None:
        raise Conflict(
            "No check-in code has been issued for this appointment; confirm the appointment time first.",
            code="CHECKIN_CODE_NOT_ISSUED",
        )
    issued_code, expires = records.issued_code(item)
    if int(item.get("attempts", 0)) >= CHECKIN_MAX_WRONG_ATTEMPTS:
        raise BusinessRuleViolation(
            "Too many wrong check-in codes; confirm the appointment time again to issue a new code.",
            code="CHECKIN_CODE_LOCKED",
        )
    if not hmac.compare_digest(code.encode(), issued_code.encode()):
        records.count_wrong_checkin(p, appointment_id)
        raise BusinessRuleViolation("The check-in code is wrong.", code="CHECKIN_CODE_INVALID")
    if item.get("state") == "used":
        raise Conflict("This check-in code was already used.", code="CHECKIN_CODE_USED")
    if now > expires:
        raise BusinessRuleViolation(
            f"This check-in code expired at {expires.isoformat()}; confirm the appointment time again "
            "to issue a new one.",
            code="CHECKIN_CODE_EXPIRED",
        )


def check_in(p: Ports, who: Principal, appointment_id: str, req: CheckInRequest) -> WorkOrder:
    """Offline: the owner's one-time code verifies the visit and starts service.

    Refusals, each with its own code: CHECKIN_CODE_NOT_ISSUED (no time confirmed yet),
    CHECKIN_CODE_INVALID (wrong code), CHECKIN_CODE_LOCKED (too many wrong codes),
    CHECKIN_CODE_USED (already used), CHECKIN_CODE_EXPIRED (past its validity).
    """
    with locked(p, appointment_id) as lease:
        doc = ownership.own_work_order(p, who, appointment_id)
        need_mode(doc, "offline", "check-in")
        item = records.find_checkin(p, appointment_id)
        now = p.now()
        _verify_code(p, appointment_id, item, req.code, now)
        new_state = FLOW.next_state(doc.status, "start")
        after = advance(doc, "check_in", new_state, actor(who), now)
        news = News(node="served", event="appointment.served", payload={"checked_in_at": now.isoformat()})
        commit(p, lease, doc, after, ops=[records.checkin_used(appointment_id)], news=news)
    return _work_order(after, checked_in=True)


def deliver(p: Ports, who: Principal, appointment_id: str, req: DeliverRequest) -> WorkOrder:
    """Offline: the provider marks the service delivered -> fulfilled."""
    with locked(p, appointment_id) as lease:
        doc = ownership.own_work_order(p, who, appointment_id)
        need_mode(doc, "offline", "marking a service delivered")
        closing.fulfil(p, who, doc, lease, "deliver", payload={"delivery_note": req.note} if req.note else None)
    return _work_order(ownership.load(p, appointment_id))
