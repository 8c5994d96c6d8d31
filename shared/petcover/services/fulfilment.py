"""Fulfilment: a covered benefit becomes a real service (appointments and provider work orders).

Flow (states from ``domain.states.APPOINTMENT``)::

    book (channel)      -> pending     quota held, one open appointment per benefit, dispatch queued
    assign (dispatch)   -> booking     provider chosen (or the ops queue: manual=True)
    accept (provider)   -> booked
    confirm-time        .. booked      offline: appointment time, one-time check-in code issued
    ship (provider)     -> fulfilling  online: carrier and tracking number
    tracking            .. fulfilling  online: tracking updates
    check-in (provider) -> fulfilling  offline: the owner's one-time code verifies the visit
    receipt (owner/auto)-> fulfilled   online
    deliver (provider)  -> fulfilled   offline
    cancel              -> cancelled   from pending, booking or booked only (hold released)

Every change after booking runs under the per-order lock (``locks``, module ``FUL``) and is one
transaction: the appointment update is conditional on the expected state and version, and a
Check on the lock item proves the caller still holds the current lease (fence, token, expiry).
Fulfilled first, then a QuotaQueue message asks the quota ledger to deduct (``quota.deduct``).

Channel webhooks (object_type ``appointment``): appointment.booked, .assigned, .accepted,
.time_confirmed, .shipped, .tracking, .served (checked in), .fulfilled, .cancelled.
Timeline nodes (``timeline.record``): assigned, accepted, appointment_confirmed, shipped,
served, completed, cancelled.

Keys (main table):
  APPT#{id} / APPT              the appointment: state, version, owner = channel, ref = id, data;
                                gsi1 WORKORDERS#{provider} / {assigned_at}#{id} (a provider's list)
                                  or OPSQUEUE / {at}#{id} while manual;
                                gsi2 POLAPPT#{policy} / {benefit}#{id} (a policy's appointments);
                                gsi3 SHIPPED#{day} / {shipped_at}#{id} while shipped, not received
  APPT#{id} / CHECKIN           the one-time check-in code: state issued/used, attempts
  POLICY#{n} / OPENAPPT#{benefit}  the open appointment of a benefit (conditional put: no duplicates)
  BATCH#{id} / BATCH            a booking batch: total, accepted, issued, rejected (atomic ADD)
  BATCH#{id} / ITEM#{index}     the result of one batch item (conditional put: once per item)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from petcover.config import get_settings
from petcover.domain import regions
from petcover.domain.states import APPOINTMENT, StateMachine
from petcover.errors import (
    BusinessRuleViolation,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    StaleWrite,
)
from petcover.identity import Principal
from petcover.models.fulfilment import (
    Appointment,
    BatchAccepted,
    BatchItem,
    BatchItemResult,
    BatchRequest,
    BatchStatus,
    BookingRequest,
    BookingResponse,
    CheckIn,
    CheckInRequest,
    ConfirmTimeRequest,
    Deduction,
    DeliverRequest,
    Shipment,
    ShipRequest,
    StaffAppointment,
    Step,
    TrackingEvent,
    TrackingRequest,
    WorkOrder,
    WorkOrderList,
)
from petcover.observability import count, logger
from petcover.ports import Check, Delete, Item, Ports, Put, Update, WriteOp
from petcover.services import catalog, locks, outbox, policies, quota, timeline

MODULE = "FUL"
DISPATCH_QUEUE = "dispatch"
BOOKING_QUEUE = "booking"
OBJECT_TYPE = "appointment"
SERVICE_KINDS = {"service_online": "online", "service_offline": "offline"}
MAX_TRACKING_EVENTS = 50
MAX_BATCH_ITEMS = 1000
CHECKIN_VALID_AFTER_APPOINTMENT = timedelta(hours=24)
CHECKIN_MAX_WRONG_ATTEMPTS = 5
AUTO_RECEIPT_LOOKBACK_DAYS = 3  # a missed daily run is caught up by the next ones
MAX_APPOINTMENT_AHEAD = timedelta(days=180)
# Refusals a retry may overcome: a batch item that meets them is retried, not rejected.
TRANSIENT_CODES = {"ORDER_LOCKED", "POLICY_CHANGED", "APPOINTMENT_CHANGED", "REQUEST_IN_PROGRESS", "LEASE_LOST"}

_VERBS = {
    "dispatch": "assign a provider",
    "manual": "hand it to operations",
    "book": "accept it",
    "start": "start service",
    "complete": "complete it",
    "cancel": "cancel",
    "confirm_time": "confirm a time",
    "track": "add tracking",
}


def _flow() -> StateMachine:
    """APPOINTMENT's table plus the steps that keep the state (time confirmation, tracking)."""
    transitions = {
        **APPOINTMENT.transitions,
        ("booked", "confirm_time"): "booked",
        ("fulfilling", "track"): "fulfilling",
    }
    messages: dict[tuple[str, str], str] = dict(APPOINTMENT.messages)
    for action, verb in _VERBS.items():
        messages.setdefault(("fulfilled", action), f"Service already fulfilled, cannot {verb}.")
        messages.setdefault(("cancelled", action), f"Appointment already cancelled, cannot {verb}.")
    not_accepted = "The provider has not accepted the appointment yet, cannot {verb}."
    for state in ("pending", "booking"):
        for action in ("start", "complete", "confirm_time"):
            messages[(state, action)] = not_accepted.format(verb=_VERBS[action])
        messages[(state, "track")] = "Nothing has been shipped yet, cannot add tracking."
    messages.update(
        {
            ("pending", "book"): "The appointment is not assigned to a provider yet, cannot accept it.",
            ("booked", "book"): "Appointment already accepted.",
            ("fulfilling", "book"): "Service is under way; the appointment was accepted already.",
            ("booking", "dispatch"): "Appointment already assigned to a provider.",
            ("booked", "dispatch"): "Appointment already accepted by a provider, cannot reassign.",
            ("fulfilling", "dispatch"): "Service is under way, cannot reassign.",
            ("booked", "complete"): "Service has not started yet, cannot complete it.",
            ("booked", "track"): "Nothing has been shipped yet, cannot add tracking.",
            ("fulfilling", "start"): "Service already started.",
            ("fulfilling", "confirm_time"): "Service already started, cannot change the appointment time.",
        }
    )
    return StateMachine(
        name=APPOINTMENT.name,
        label=APPOINTMENT.label,
        initial=APPOINTMENT.initial,
        transitions=transitions,
        final=APPOINTMENT.final,
        messages=messages,
    )


FLOW = _flow()


# ---------------------------------------------------------------- keys and helpers


def appt_key(appointment_id: str) -> tuple[str, str]:
    return f"APPT#{appointment_id}", "APPT"


def checkin_key(appointment_id: str) -> tuple[str, str]:
    return f"APPT#{appointment_id}", "CHECKIN"


def open_key(policy_number: str, benefit_code: str) -> tuple[str, str]:
    return f"POLICY#{policy_number}", f"OPENAPPT#{benefit_code}"


def batch_key(batch_id: str) -> tuple[str, str]:
    return f"BATCH#{batch_id}", "BATCH"


def batch_item_key(batch_id: str, index: int) -> tuple[str, str]:
    return f"BATCH#{batch_id}", f"ITEM#{index:04d}"


def _actor(who: Principal | str) -> str:
    return who if isinstance(who, str) else f"{who.kind}:{who.id}"


def new_appointment_id(now: datetime) -> str:
    return f"AP{now:%y%m%d}{secrets.token_hex(6).upper()}"


def batch_appointment_id(batch_id: str, index: int) -> str:
    """The business key of a batch item: the same item always books the same appointment id."""
    return "AP" + hashlib.sha256(f"{batch_id}#{index}".encode()).hexdigest()[:18].upper()


def _region(doc: Appointment) -> str:
    return doc.address.district or doc.address.city or doc.address.province


def _load_item(item: Item) -> Appointment:
    doc = Appointment.model_validate_json(item["data"])
    return doc.model_copy(update={"status": item["state"], "version": int(item["version"])})


def _load(p: Ports, appointment_id: str) -> Appointment:
    item = p.store.get(*appt_key(appointment_id))
    if item is None:
        raise NotFound(f"Appointment {appointment_id} does not exist.", code="APPOINTMENT_NOT_FOUND")
    return _load_item(item)


def _own_appointment(p: Ports, who: Principal, appointment_id: str) -> Appointment:
    """A channel sees only its own appointments: another's is simply not found."""
    doc = _load(p, appointment_id)
    if not who.is_staff and (who.kind != "channel" or doc.channel_id != who.id):
        raise NotFound(f"Appointment {appointment_id} does not exist.", code="APPOINTMENT_NOT_FOUND")
    return doc


def _own_work_order(p: Ports, who: Principal, appointment_id: str) -> Appointment:
    """A provider sees and acts only on work orders assigned to it."""
    try:
        doc = _load(p, appointment_id)
    except NotFound:
        doc = None
    if doc is None or who.kind != "provider" or doc.provider_id != who.id:
        raise NotFound(f"Work order {appointment_id} does not exist.", code="WORK_ORDER_NOT_FOUND")
    return doc


def _need_mode(doc: Appointment, mode: str, what: str) -> None:
    if doc.mode != mode:
        other = "shipped to the owner" if doc.mode == "online" else "served at a clinic or store"
        raise BusinessRuleViolation(
            f"Appointment {doc.appointment_id} is {other}; {what} is only for {mode} services.",
            code="WRONG_SERVICE_MODE",
        )


def _advance(doc: Appointment, action: str, new_state: str, by: str, now: datetime, **changes: Any) -> Appointment:
    step = Step(at=now, action=action, by=by, state=new_state)  # type: ignore[arg-type]
    return doc.model_copy(
        update={
            **changes,
            "status": new_state,
            "version": doc.version + 1,
            "updated_at": now,
            "steps": [*doc.steps, step],
        }
    )


def _doc_json(doc: Appointment) -> str:
    return doc.model_dump_json(exclude={"checkin"})


@contextmanager
def _locked(p: Ports, appointment_id: str) -> Iterator[locks.Lease]:
    with locks.held(p, appointment_id, MODULE) as lease:
        yield lease


def _commit(
    p: Ports,
    lease: locks.Lease,
    before: Appointment,
    after: Appointment,
    *,
    index: Mapping[str, Any] | None = None,
    ops: list[WriteOp] | None = None,
) -> None:
    """One transaction: the appointment (expected state + version), extra ops, the lease check."""
    pk, sk = appt_key(before.appointment_id)
    write: list[WriteOp] = [
        Update(
            pk,
            sk,
            set={"state": after.status, "version": after.version, "data": _doc_json(after), **(index or {})},
            expect=[("state", "=", before.status), ("version", "=", before.version)],
        ),
        *(ops or []),
        lease.check(p),
    ]
    try:
        p.store.transact(write)
    except StaleWrite:
        if not lease.valid(p):
            raise Conflict(
                f"Changing appointment {before.appointment_id} took longer than its lock allows; nothing was "
                "written. Reload it and retry.",
                code="LEASE_LOST",
                retry_after=1,
            ) from None
        raise Conflict(
            f"Appointment {before.appointment_id} changed meanwhile; reload it and retry.",
            code="APPOINTMENT_CHANGED",
        ) from None


def _payload(doc: Appointment, **extra: Any) -> dict[str, Any]:
    return {
        "appointment_id": doc.appointment_id,
        "policy_number": doc.policy_number,
        "benefit_code": doc.benefit_code,
        "service_type": doc.service_type,
        "mode": doc.mode,
        "status": doc.status,
        "version": doc.version,
        **extra,
    }


def _sync(
    p: Ports,
    doc: Appointment,
    *,
    node: str | None,
    event: str | None,
    payload: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """After a committed change: the provider-side timeline and the channel's webhook.

    Runs inside the lock so nodes of one order are recorded in order. Best effort: the change is
    already committed, so a failure here is logged and counted, never turned into an error.
    """
    if node and doc.provider_id:
        try:
            timeline.record(
                p,
                order_id=doc.appointment_id,
                provider_id=doc.provider_id,
                node=node,
                service_type=doc.service_type,
                region=_region(doc),
                online=doc.mode == "online",
                at=at,
            )
        except Exception:
            logger.exception("timeline not recorded", extra={"appointment_id": doc.appointment_id, "node": node})
            count("FulfilmentSyncFailed")
    if event:
        try:
            from petcover.services import webhooks

            webhooks.notify(
                p,
                channel_id=doc.channel_id,
                object_type=OBJECT_TYPE,
                object_id=doc.appointment_id,
                event_type=event,
                payload=_payload(doc, **(payload or {})),
            )
        except Exception:
            logger.exception("webhook not queued", extra={"appointment_id": doc.appointment_id, "event": event})
            count("FulfilmentSyncFailed")


def _release_ops(p: Ports, doc: Appointment) -> list[WriteOp]:
    """A final state frees the benefit for a new booking (and marks the day's quota activity)."""
    opk, osk = open_key(doc.policy_number, doc.benefit_code)
    return [
        Delete(opk, osk, expect=[("ref", "=?", doc.appointment_id)]),  # never another appointment's marker
        quota.activity_op(p, doc.policy_number, doc.benefit_code),
    ]


def _limited(p: Ports, doc: Appointment) -> bool:
    return quota.is_limited(quota.balance(p, doc.policy_number, doc.benefit_code))


# ---------------------------------------------------------------- booking (channel)


def _validate_booking(p: Ports, req: BookingRequest, mode: str) -> None:
    errors: list[dict[str, str]] = []
    a = req.address
    for problem in regions.check_area(regions.Area(a.province, a.city, a.district)):
        errors.append({"field": "address", "message": problem})
    now = p.now()
    if mode == "offline":
        if req.preferred_time is None:
            errors.append({"field": "preferred_time", "message": "An offline service needs a preferred time."})
        elif req.preferred_time < now:
            errors.append({"field": "preferred_time", "message": "The preferred time is in the past."})
        elif req.preferred_time > now + MAX_APPOINTMENT_AHEAD:
            errors.append({"field": "preferred_time", "message": "The preferred time is more than 180 days ahead."})
    if errors:
        raise InvalidInput("Some fields are invalid.", code="VALIDATION_FAILED", details=errors)


def book(
    p: Ports,
    who: Principal,
    policy_number: str,
    req: BookingRequest,
    *,
    appointment_id: str | None = None,
    batch: str | None = None,
    extra_ops: list[WriteOp] | None = None,
    extra_for: Callable[[Appointment], list[WriteOp]] | None = None,
) -> tuple[Appointment, int | None, bool]:
    """Create the appointment and hold one use: (appointment, uses left, replayed).

    With ``appointment_id`` (a business key) the booking is idempotent: if that appointment
    already exists it is returned with replayed=True and nothing moves again.
    """
    now = p.now()
    today = now.date()
    pol = policies.get_for(p, who, policy_number)
    catalog.authorize(p, pol.channel_id, pol.product_code, "book", today)
    if pol.status != "active":
        raise BusinessRuleViolation(
            f"Policy {policy_number} is {pol.status}; only an active policy can book services.",
            code="POLICY_NOT_ACTIVE",
        )
    if not (pol.start_date <= today <= pol.end_date):
        raise BusinessRuleViolation(
            f"Policy {policy_number} covers {pol.start_date} to {pol.end_date}; it is not in force today.",
            code="POLICY_NOT_IN_FORCE",
        )
    benefit = next((b for b in pol.benefits if b.code == req.benefit_code), None)
    if benefit is None:
        raise NotFound(f"Benefit {req.benefit_code} is not part of policy {policy_number}.", code="BENEFIT_NOT_FOUND")
    mode = SERVICE_KINDS.get(benefit.kind)
    if mode is None:
        raise BusinessRuleViolation(
            f"Benefit {benefit.code} is reimbursed through a claim; it cannot be booked as a service.",
            code="BENEFIT_NOT_BOOKABLE",
        )
    if benefit.available_from and today < benefit.available_from:
        raise BusinessRuleViolation(
            f"Benefit {benefit.code} can be used from {benefit.available_from} (waiting period).",
            code="BENEFIT_IN_WAITING_PERIOD",
            details={"available_from": benefit.available_from.isoformat()},
        )
    if req.pet.pet_id != pol.insured.insured_id:
        raise BusinessRuleViolation(
            f"Pet {req.pet.pet_id} is not the pet insured by policy {policy_number}.", code="PET_NOT_INSURED"
        )
    _validate_booking(p, req, mode)
    limited = benefit.quota is not None
    if limited and (benefit.available or 0) < 1:
        raise BusinessRuleViolation(
            f"Benefit {benefit.code} of policy {policy_number} has no uses left "
            f"({benefit.used} used, {benefit.held} booked, quota {benefit.quota}).",
            code="QUOTA_EXHAUSTED",
        )
    aid = appointment_id or new_appointment_id(now)
    doc = Appointment(
        appointment_id=aid,
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
        steps=[Step(at=now, action="book", by=_actor(who), state="pending")],
    )
    pk, sk = appt_key(aid)
    opk, osk = open_key(policy_number, benefit.code)
    ppk, psk = policies.policy_key(policy_number)
    ops: list[WriteOp] = [
        Put(
            {
                "pk": pk,
                "sk": sk,
                "kind": "appointment",
                "state": "pending",
                "version": 1,
                "owner": pol.channel_id,
                "ref": aid,
                "gsi2pk": f"POLAPPT#{policy_number}",
                "gsi2sk": f"{benefit.code}#{aid}",
                "data": _doc_json(doc),
            },
            if_absent=True,
        ),
        Put({"pk": opk, "sk": osk, "kind": "open_appointment", "ref": aid, "owner": pol.channel_id}, if_absent=True),
        quota.hold_op(policy_number, benefit.code, limited),
        Check(ppk, psk, expect=[("state", "=", "active")]),
        quota.activity_op(p, policy_number, benefit.code),
        *(extra_ops or []),
        *(extra_for(doc) if extra_for else []),
    ]
    try:
        p.store.transact(ops)
    except StaleWrite:
        if appointment_id is not None:
            existing = p.store.get(pk, sk)
            if existing is not None:
                return _load_item(existing), None, True
        marker = p.store.get(opk, osk)
        if marker is not None:
            raise Conflict(
                f"Benefit {benefit.code} of policy {policy_number} already has an open appointment "
                f"({marker.get('ref')}); complete or cancel it before booking again (duplicate booking).",
                code="DUPLICATE_BOOKING",
                details={"appointment_id": marker.get("ref")},
            ) from None
        bal = quota.balance(p, policy_number, benefit.code)
        if limited and bal is not None and int(bal.get("available", 0)) < 1:
            raise BusinessRuleViolation(
                f"Benefit {benefit.code} of policy {policy_number} has no uses left.", code="QUOTA_EXHAUSTED"
            ) from None
        pitem = p.store.get(ppk, psk)
        if pitem is not None and pitem.get("state") != "active":
            raise BusinessRuleViolation(
                f"Policy {policy_number} is {pitem.get('state')}; only an active policy can book services.",
                code="POLICY_NOT_ACTIVE",
            ) from None
        raise Conflict("The policy changed meanwhile; retry the booking.", code="POLICY_CHANGED") from None
    left = (benefit.available - 1) if limited and benefit.available is not None else None
    return doc, left, False


def dispatch_message(doc: Appointment) -> dict[str, Any]:
    return {
        "appointment_id": doc.appointment_id,
        "policy_number": doc.policy_number,
        "channel_id": doc.channel_id,
        "service_type": doc.service_type,
        "province": doc.address.province,
        "city": doc.address.city,
        "district": doc.address.district,
        "national": False,
    }


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


def book_appointment(p: Ports, who: Principal, policy_number: str, req: BookingRequest) -> BookingResponse:
    """POST /policies/{number}/appointments: answers at once; dispatch runs asynchronously."""
    # The dispatch message is written with the booking (outbox): a crash or an SQS outage after the
    # commit delays dispatch by the sweep interval instead of losing it.
    ids: list[str] = []

    def announce(doc: Appointment) -> list[WriteOp]:
        queued, oid = outbox.message(p, queue=DISPATCH_QUEUE, body=dispatch_message(doc))
        ids.append(oid)
        return [queued]

    doc, left, _ = book(p, who, policy_number, req, extra_for=announce)
    outbox.release(p, *ids)
    _sync(p, doc, node=None, event="appointment.booked")
    return _response(doc, left)


# ---------------------------------------------------------------- dispatch result


def _decision_summary(decision: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not decision:
        return None
    keys = ("step", "reason", "rule_version", "region_code", "coverage_gap", "service_type", "excluded")
    summary = {k: decision[k] for k in keys if k in decision}
    if isinstance(decision.get("candidates"), list):
        summary["candidates"] = len(decision["candidates"])
    if not summary:
        summary = dict(decision)
    text = json.dumps(summary, default=str)
    if len(text) > 4000:
        summary = {"truncated": text[:4000]}
    return json.loads(json.dumps(summary, default=str))  # type: ignore[no-any-return]


def assign(p: Ports, appointment_id: str, provider_id: str | None, decision: dict[str, Any]) -> None:
    """The dispatch consumer's result: pending -> booking with the provider (or the ops queue).

    ``provider_id=None`` hands the order to platform operations (state booking, manual=True); a
    later call with a provider from ops is allowed from booking+manual, and ops may also move an
    order to another provider before it is accepted (decision step ``manual_override``).
    Repeating the same assignment is a no-op (the dispatch message may arrive twice); an
    appointment cancelled meanwhile is left alone; anything else illegal is a 409.
    """
    with _locked(p, appointment_id) as lease:
        doc = _load(p, appointment_id)
        if doc.status == "cancelled":
            # Cancelled while the message waited: nothing to assign, and nothing to retry either.
            logger.info("assignment ignored: appointment cancelled", extra={"appointment_id": appointment_id})
            return
        if doc.status == "booking":
            if (doc.manual and provider_id is None) or (not doc.manual and doc.provider_id == provider_id):
                return  # the same assignment again
            by_ops = (decision or {}).get("step") == "manual_override"
            if not doc.manual and not (by_ops and provider_id):
                raise Conflict(
                    f"Appointment {appointment_id} is already assigned to provider {doc.provider_id}.",
                    code="ILLEGAL_TRANSITION",
                    details={"from": doc.status, "action": "dispatch", "provider_id": doc.provider_id},
                )
            # From the operations queue, or moved by ops before the first provider accepted.
            new_state = FLOW.next_state(doc.status, "manual")
        else:
            new_state = FLOW.next_state(doc.status, "dispatch")
        now = p.now()
        action = "assign" if provider_id else "manual"
        after = _advance(
            doc,
            action,
            new_state,
            "system:dispatch",
            now,
            provider_id=provider_id,
            manual=provider_id is None,
            decision=_decision_summary(decision),
        )
        index = (
            {"gsi1pk": f"WORKORDERS#{provider_id}", "gsi1sk": f"{now.isoformat()}#{appointment_id}"}
            if provider_id
            else {"gsi1pk": "OPSQUEUE", "gsi1sk": f"{now.isoformat()}#{appointment_id}"}
        )
        _commit(p, lease, doc, after, index=index)
        if provider_id:
            _sync(p, after, node="assigned", event="appointment.assigned", payload={"provider_id": provider_id})


# ---------------------------------------------------------------- provider work orders


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
    page = p.store.query(f"WORKORDERS#{who.id}", index="gsi1", limit=limit, cursor=cursor, descending=True)
    items = []
    for item in page.items:
        doc = _load_item(item)
        if doc.provider_id != who.id or (status and doc.status != status):
            continue
        items.append(_work_order(doc))
    return WorkOrderList(items=items, cursor=page.cursor)


def get_work_order(p: Ports, who: Principal, appointment_id: str) -> WorkOrder:
    return _work_order(_own_work_order(p, who, appointment_id))


def accept(p: Ports, who: Principal, appointment_id: str) -> WorkOrder:
    with _locked(p, appointment_id) as lease:
        doc = _own_work_order(p, who, appointment_id)
        new_state = FLOW.next_state(doc.status, "book")
        after = _advance(doc, "accept", new_state, _actor(who), p.now())
        _commit(p, lease, doc, after)
        _sync(p, after, node="accepted", event="appointment.accepted", payload={"provider_id": who.id})
    return _work_order(after)


def _issue_code(p: Ports, doc: Appointment, appointment_time: datetime) -> tuple[Put, CheckIn]:
    code = f"{secrets.randbelow(10**8):08d}"
    expires = appointment_time + CHECKIN_VALID_AFTER_APPOINTMENT
    ci = CheckIn(code=code, qr_payload=f"petcover://check-in?a={doc.appointment_id}&c={code}", expires_at=expires)
    pk, sk = checkin_key(doc.appointment_id)
    put = Put(
        {
            "pk": pk,
            "sk": sk,
            "kind": "checkin_code",
            "state": "issued",
            "attempts": 0,
            "expires_at": int((expires + timedelta(days=30)).timestamp()),  # TTL cleanup only
            "data": json.dumps({**ci.model_dump(mode="json"), "issued_at": p.now().isoformat()}),
        }
    )
    return put, ci


def confirm_time(p: Ports, who: Principal, appointment_id: str, req: ConfirmTimeRequest) -> WorkOrder:
    """Offline: the provider fixes the time; a new one-time check-in code replaces any earlier one."""
    with _locked(p, appointment_id) as lease:
        doc = _own_work_order(p, who, appointment_id)
        _need_mode(doc, "offline", "confirming an appointment time")
        new_state = FLOW.next_state(doc.status, "confirm_time")
        now = p.now()
        if req.appointment_time <= now or req.appointment_time > now + MAX_APPOINTMENT_AHEAD:
            raise InvalidInput(
                "The appointment time must be in the future, at most 180 days ahead.",
                code="VALIDATION_FAILED",
                details=[{"field": "appointment_time", "message": "out of range"}],
            )
        put, ci = _issue_code(p, doc, req.appointment_time)
        after = _advance(doc, "confirm_time", new_state, _actor(who), now, appointment_time=req.appointment_time)
        _commit(p, lease, doc, after, ops=[put])
        _sync(
            p,
            after,
            node="appointment_confirmed",
            event="appointment.time_confirmed",
            payload={
                "appointment_time": req.appointment_time.isoformat(),
                "checkin": ci.model_dump(mode="json"),
            },
        )
    return _work_order(after)


def ship(p: Ports, who: Principal, appointment_id: str, req: ShipRequest) -> WorkOrder:
    with _locked(p, appointment_id) as lease:
        doc = _own_work_order(p, who, appointment_id)
        _need_mode(doc, "online", "shipping")
        new_state = FLOW.next_state(doc.status, "start")
        now = p.now()
        shipment = Shipment(carrier=req.carrier, tracking_number=req.tracking_number, shipped_at=now)
        after = _advance(doc, "ship", new_state, _actor(who), now, shipment=shipment)
        index = {"gsi3pk": f"SHIPPED#{quota.business_day(p, now)}", "gsi3sk": f"{now.isoformat()}#{appointment_id}"}
        _commit(p, lease, doc, after, index=index)
        _sync(
            p,
            after,
            node="shipped",
            event="appointment.shipped",
            payload={"carrier": req.carrier, "tracking_number": req.tracking_number},
        )
    return _work_order(after)


def track(p: Ports, who: Principal, appointment_id: str, req: TrackingRequest) -> WorkOrder:
    with _locked(p, appointment_id) as lease:
        doc = _own_work_order(p, who, appointment_id)
        _need_mode(doc, "online", "tracking")
        new_state = FLOW.next_state(doc.status, "track")
        now = p.now()
        assert doc.shipment is not None
        ev = TrackingEvent(at=req.at or now, status=req.status, description=req.description, location=req.location)
        shipment = doc.shipment.model_copy(update={"events": [*doc.shipment.events, ev][-MAX_TRACKING_EVENTS:]})
        after = _advance(doc, "track", new_state, _actor(who), now, shipment=shipment)
        _commit(p, lease, doc, after)
        _sync(p, after, node=None, event="appointment.tracking", payload={"tracking": ev.model_dump(mode="json")})
    return _work_order(after)


def check_in(p: Ports, who: Principal, appointment_id: str, req: CheckInRequest) -> WorkOrder:
    """Offline: the owner's one-time code verifies the visit and starts service.

    Refusals, each with its own code: CHECKIN_CODE_NOT_ISSUED (no time confirmed yet),
    CHECKIN_CODE_INVALID (wrong code), CHECKIN_CODE_LOCKED (too many wrong codes),
    CHECKIN_CODE_USED (already used), CHECKIN_CODE_EXPIRED (past its validity).
    """
    with _locked(p, appointment_id) as lease:
        doc = _own_work_order(p, who, appointment_id)
        _need_mode(doc, "offline", "check-in")
        cpk, csk = checkin_key(appointment_id)
        item = p.store.get(cpk, csk)
        if item is None:
            raise Conflict(
                "No check-in code has been issued for this appointment; confirm the appointment time first.",
                code="CHECKIN_CODE_NOT_ISSUED",
            )
        issued = json.loads(item["data"])
        if int(item.get("attempts", 0)) >= CHECKIN_MAX_WRONG_ATTEMPTS:
            raise BusinessRuleViolation(
                "Too many wrong check-in codes; confirm the appointment time again to issue a new code.",
                code="CHECKIN_CODE_LOCKED",
            )
        if not hmac.compare_digest(req.code.encode(), str(issued["code"]).encode()):
            p.store.update(cpk, csk, add={"attempts": 1}, must_exist=True)
            raise BusinessRuleViolation("The check-in code is wrong.", code="CHECKIN_CODE_INVALID")
        if item.get("state") == "used":
            raise Conflict("This check-in code was already used.", code="CHECKIN_CODE_USED")
        now = p.now()
        expires = datetime.fromisoformat(issued["expires_at"])
        if now > expires:
            raise BusinessRuleViolation(
                f"This check-in code expired at {expires.isoformat()}; confirm the appointment time again "
                "to issue a new one.",
                code="CHECKIN_CODE_EXPIRED",
            )
        new_state = FLOW.next_state(doc.status, "start")
        after = _advance(doc, "check_in", new_state, _actor(who), now)
        use = Update(cpk, csk, set={"state": "used"}, expect=[("state", "=", "issued")], must_exist=True)
        _commit(p, lease, doc, after, ops=[use])
        _sync(p, after, node="served", event="appointment.served", payload={"checked_in_at": now.isoformat()})
    return _work_order(after, checked_in=True)


def _fulfil(
    p: Ports,
    who: Principal | str,
    doc: Appointment,
    lease: locks.Lease,
    action: str,
    *,
    payload: Mapping[str, Any] | None = None,
    **changes: Any,
) -> None:
    new_state = FLOW.next_state(doc.status, "complete")
    now = p.now()
    after = _advance(doc, action, new_state, _actor(who), now, fulfilled_at=now, **changes)
    index = {"gsi3pk": None, "gsi3sk": None}
    _commit(p, lease, doc, after, index=index, ops=_release_ops(p, doc))
    # Fulfilled first; then the ledger deducts (idempotent per appointment, retried, DLQ, alert).
    try:
        p.publisher.send(
            quota.QUOTA_QUEUE, [quota.deduction_message(doc.appointment_id, doc.policy_number, doc.benefit_code)]
        )
    except Exception:
        logger.exception("quota deduction not queued", extra={"appointment_id": doc.appointment_id})
        count("QuotaDeductionNotQueued")
        _alert(
            p,
            f"Quota deduction of appointment {doc.appointment_id} could not be queued; run "
            f"POST /ops/reconciliation with repair=true for policy {doc.policy_number}.",
            f"quota-not-queued:{doc.appointment_id}",
        )
    _sync(
        p,
        after,
        node="completed",
        event="appointment.fulfilled",
        payload={"fulfilled_at": now.isoformat(), **(payload or {})},
    )


def deliver(p: Ports, who: Principal, appointment_id: str, req: DeliverRequest) -> WorkOrder:
    """Offline: the provider marks the service delivered -> fulfilled."""
    with _locked(p, appointment_id) as lease:
        doc = _own_work_order(p, who, appointment_id)
        _need_mode(doc, "offline", "marking a service delivered")
        _fulfil(p, who, doc, lease, "deliver", payload={"delivery_note": req.note} if req.note else None)
    return _work_order(_load(p, appointment_id))


def confirm_receipt(p: Ports, who: Principal | str, appointment_id: str) -> Appointment:
    """Online: the owner confirms receipt (through the channel), or the daily job does it."""
    auto = isinstance(who, str)
    with _locked(p, appointment_id) as lease:
        doc = _load(p, appointment_id) if auto else _own_appointment(p, who, appointment_id)  # type: ignore[arg-type]
        _need_mode(doc, "online", "confirming receipt")
        _fulfil(p, who, doc, lease, "receipt", receipt="auto" if auto else "owner")
    return get_for_channel(p, None if auto else who, appointment_id)  # type: ignore[arg-type]


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
        cursor = None
        while True:
            page = p.store.query(f"SHIPPED#{day}", index="gsi3", sk_lte=cutoff.isoformat(), limit=200, cursor=cursor)
            for item in page.items:
                if item.get("state") != "fulfilling":
                    continue
                try:
                    confirm_receipt(p, "system:auto-receipt", str(item["ref"]))
                    confirmed += 1
                except DomainError as exc:
                    failed.append({"appointment_id": item["ref"], "code": exc.code})
            cursor = page.cursor
            if not cursor:
                break
    return {"cutoff": cutoff.isoformat(), "confirmed": confirmed, "failed": failed}


# ---------------------------------------------------------------- cancellation


def _cancel(p: Ports, who: Principal | str, appointment_id: str, reason: str, *, notify: bool = True) -> Appointment:
    with _locked(p, appointment_id) as lease:
        doc = _own_appointment(p, who, appointment_id) if isinstance(who, Principal) else _load(p, appointment_id)
        new_state = FLOW.next_state(doc.status, "cancel")
        now = p.now()
        after = _advance(doc, "cancel", new_state, _actor(who), now, cancelled_at=now, cancel_reason=reason)
        ops = [quota.release_op(doc.policy_number, doc.benefit_code, _limited(p, doc)), *_release_ops(p, doc)]
        _commit(p, lease, doc, after, index={"gsi3pk": None, "gsi3sk": None}, ops=ops)
        if notify:
            _sync(p, after, node="cancelled", event="appointment.cancelled", payload={"reason": reason})
    return after


def cancel(p: Ports, who: Principal, appointment_id: str, reason: str) -> Appointment:
    """Channel: cancel from pending, booking or booked; the held use is released."""
    _cancel(p, who, appointment_id, reason)
    return get_for_channel(p, who, appointment_id)


def cancel_for_policy(p: Ports, policy_number: str, reason: str | None) -> dict[str, Any]:
    """PolicyCancelled: cancel the policy's open appointments and release their holds (idempotent).

    A service already under way (fulfilling) cannot be cancelled; it is reported and finishes.
    Lock contention is raised after the others were done, so the event is retried.
    """
    cancelled: list[str] = []
    under_way: list[str] = []
    busy: list[str] = []
    text = f"Policy {policy_number} was cancelled" + (f": {reason}" if reason else ".")
    cursor = None
    while True:
        page = p.store.query(f"POLICY#{policy_number}", sk_prefix="OPENAPPT#", limit=100, cursor=cursor)
        for marker in page.items:
            aid = str(marker["ref"])
            try:
                _cancel(p, "system:policy-cancelled", aid, text)
                cancelled.append(aid)
            except Conflict as exc:
                if exc.code in TRANSIENT_CODES:
                    busy.append(aid)
                else:
                    under_way.append(aid)
        cursor = page.cursor
        if not cursor:
            break
    result = {"policy_number": policy_number, "cancelled": cancelled, "under_way": under_way, "busy": busy}
    if busy:
        raise Conflict(
            f"Appointments {', '.join(busy)} were busy; the event will be retried.",
            code="ORDER_LOCKED",
            details=result,
            retry_after=1,
        )
    return result


# ---------------------------------------------------------------- reads


def _checkin_for_owner(p: Ports, doc: Appointment) -> CheckIn | None:
    if doc.mode != "offline" or doc.status != "booked":
        return None
    item = p.store.get(*checkin_key(doc.appointment_id))
    if item is None or item.get("state") != "issued":
        return None
    d = json.loads(item["data"])
    return CheckIn(code=d["code"], qr_payload=d["qr_payload"], expires_at=d["expires_at"])


def get_for_channel(p: Ports, who: Principal | None, appointment_id: str) -> Appointment:
    """The channel's view (own appointments only), with the owner's check-in code once issued."""
    doc = _load(p, appointment_id) if who is None else _own_appointment(p, who, appointment_id)
    return doc.model_copy(update={"checkin": _checkin_for_owner(p, doc), "decision": None})


def get_for_staff(p: Ports, appointment_id: str) -> StaffAppointment:
    doc = _load(p, appointment_id)
    at = quota.deduction_of(p, appointment_id)
    lock = locks.current(p, appointment_id, MODULE)
    lock_view = {"fence": int(lock.get("fence", 0)), "expires_at": int(lock.get("expires_at", 0))} if lock else None
    nodes = [n.model_dump(mode="json") for n in timeline.nodes(p, appointment_id)]
    return StaffAppointment(
        appointment=doc, deduction=Deduction(deducted=at is not None, at=at), lock=lock_view, nodes=nodes
    )


# ---------------------------------------------------------------- batch booking


def batch_id_for(channel_id: str, idempotency_key: str) -> str:
    """Same channel + Idempotency-Key -> same batch: a retried request never books twice."""
    return "BT" + hashlib.sha256(f"{channel_id}#{idempotency_key}".encode()).hexdigest()[:20].upper()


def _field_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(x) for x in e["loc"]) or "item", "message": e["msg"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def _error_of(exc: DomainError) -> dict[str, Any]:
    err: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.details is not None:
        err["details"] = exc.details
    return err


def _result_item(
    batch_id: str,
    index: int,
    status: str,
    now: datetime,
    *,
    appointment_id: str | None = None,
    policy_number: str | None = None,
    error: dict[str, Any] | None = None,
) -> Put:
    pk, sk = batch_item_key(batch_id, index)
    result = BatchItemResult(
        index=index,
        status=status,  # type: ignore[arg-type]
        appointment_id=appointment_id,
        policy_number=policy_number,
        error=error,
        at=now,
    )
    return Put(
        {"pk": pk, "sk": sk, "kind": "batch_item", "state": status, "n": 0, "data": result.model_dump_json()},
        if_absent=True,
    )


def create_batch(p: Ports, who: Principal, req: BatchRequest, idempotency_key: str) -> BatchAccepted:
    """POST /appointment-batches: each item checked and queued on its own (one SQS message each)."""
    if len(req.items) > MAX_BATCH_ITEMS:
        raise InvalidInput(f"A batch holds at most {MAX_BATCH_ITEMS} items.", code="BATCH_TOO_LARGE")
    batch_id = batch_id_for(who.id, idempotency_key)
    now = p.now()
    valid: list[tuple[int, dict[str, Any]]] = []
    invalid: list[tuple[int, dict[str, Any]]] = []
    for i, raw in enumerate(req.items):
        try:
            BatchItem.model_validate(raw)
            valid.append((i, raw))
        except ValidationError as exc:
            invalid.append(
                (i, {"code": "VALIDATION_FAILED", "message": "Some fields are invalid.", "details": _field_errors(exc)})
            )
    pk, sk = batch_key(batch_id)
    replayed = False
    try:
        p.store.put(
            {
                "pk": pk,
                "sk": sk,
                "kind": "booking_batch",
                "owner": who.id,
                "total": len(req.items),
                "accepted": len(valid),
                "issued": 0,
                "rejected": len(invalid),
                "data": json.dumps({"batch_id": batch_id, "channel_id": who.id, "created_at": now.isoformat()}),
            },
            if_absent=True,
        )
    except StaleWrite:
        replayed = True  # the same request again (after a partial failure): resume, nothing twice
    for i, err in invalid:
        with suppress(StaleWrite):
            p.store.put(_result_item(batch_id, i, "rejected", now, error=err).item, if_absent=True)
    p.publisher.send(
        BOOKING_QUEUE, [{"batch_id": batch_id, "index": i, "channel_id": who.id, "item": raw} for i, raw in valid]
    )
    return BatchAccepted(
        batch_id=batch_id, total=len(req.items), accepted=len(valid), rejected=len(invalid), replayed=replayed
    )


def process_batch_item(p: Ports, message: Mapping[str, Any], *, last_attempt: bool = False) -> str:
    """BookingQueue consumer: book one batch item, once (business key: batch id + index).

    Returns booked / rejected / duplicate. A business refusal is a result (rejected), not an
    error; a transient failure raises so SQS retries it, and on the last attempt it is recorded
    as rejected (BOOKING_FAILED) so the batch still completes.
    """
    batch_id, index = str(message["batch_id"]), int(message["index"])
    rpk, rsk = batch_item_key(batch_id, index)
    bpk, bsk = batch_key(batch_id)
    aid = batch_appointment_id(batch_id, index)
    existing = p.store.get(rpk, rsk)
    if existing is not None:
        if existing.get("state") == "booked" and int(existing.get("n", 0)) == 0:
            _dispatch_batch_item(p, aid, rpk, rsk)  # booked, but the dispatch send had failed
        return "duplicate"
    batch = p.store.get(bpk, bsk)
    if batch is None:
        raise NotFound(f"Batch {batch_id} does not exist.", code="BATCH_NOT_FOUND")
    channel_id = str(batch["owner"])
    now = p.now()
    try:
        item = BatchItem.model_validate(message["item"])
        req = BookingRequest.model_validate(item.model_dump(exclude={"policy_number"}))
        who = Principal("channel", channel_id)
        booked = _result_item(batch_id, index, "booked", now, appointment_id=aid, policy_number=item.policy_number)
        doc, _, replayed = book(
            p,
            who,
            item.policy_number,
            req,
            appointment_id=aid,
            batch=f"{batch_id}#{index}",
            extra_ops=[booked, Update(bpk, bsk, add={"issued": 1})],
        )
    except ValidationError as exc:
        error = {"code": "VALIDATION_FAILED", "message": "Some fields are invalid.", "details": _field_errors(exc)}
        return _reject(p, batch_id, index, now, error)
    except DomainError as exc:
        if exc.status >= 500 or exc.code in TRANSIENT_CODES:
            if last_attempt:
                return _reject(p, batch_id, index, now, {"code": "BOOKING_FAILED", "message": exc.message})
            raise
        return _reject(p, batch_id, index, now, _error_of(exc), policy_number=message["item"].get("policy_number"))
    except Exception as exc:
        if last_attempt:
            return _reject(p, batch_id, index, now, {"code": "BOOKING_FAILED", "message": str(exc)[:300]})
        raise
    if replayed:
        return "duplicate"
    _dispatch_batch_item(p, doc.appointment_id, rpk, rsk)
    _sync(p, doc, node=None, event="appointment.booked", payload={"batch_id": batch_id, "index": index})
    return "booked"


def _dispatch_batch_item(p: Ports, appointment_id: str, rpk: str, rsk: str) -> None:
    doc = _load(p, appointment_id)
    if doc.status == "pending":
        p.publisher.send(DISPATCH_QUEUE, [dispatch_message(doc)])
    p.store.update(rpk, rsk, add={"n": 1})


def _reject(
    p: Ports, batch_id: str, index: int, now: datetime, error: dict[str, Any], policy_number: Any = None
) -> str:
    bpk, bsk = batch_key(batch_id)
    put = _result_item(
        batch_id,
        index,
        "rejected",
        now,
        policy_number=policy_number if isinstance(policy_number, str) else None,
        error=error,
    )
    try:
        p.store.transact([put, Update(bpk, bsk, add={"rejected": 1})])
    except StaleWrite:
        return "duplicate"
    return "rejected"


def batch_status(
    p: Ports, who: Principal, batch_id: str, *, limit: int = 100, cursor: str | None = None
) -> BatchStatus:
    """GET /appointment-batches/{batchId}: counters and per-item results (the channel's own only)."""
    pk, sk = batch_key(batch_id)
    item = p.store.get(pk, sk)
    if item is None or (not who.is_staff and item.get("owner") != who.id):
        raise NotFound(f"Batch {batch_id} does not exist.", code="BATCH_NOT_FOUND")
    page = p.store.query(pk, sk_prefix="ITEM#", limit=limit, cursor=cursor)
    total, issued, rejected = int(item.get("total", 0)), int(item.get("issued", 0)), int(item.get("rejected", 0))
    return BatchStatus(
        batch_id=batch_id,
        created_at=json.loads(item["data"])["created_at"],
        total=total,
        accepted=int(item.get("accepted", 0)),
        issued=issued,
        rejected=rejected,
        pending=max(0, total - issued - rejected),
        done=issued + rejected >= total,
        items=[BatchItemResult.model_validate_json(i["data"]) for i in page.items],
        cursor=page.cursor,
    )


# ---------------------------------------------------------------- quota ops glue


def _alert(p: Ports, text: str, dedupe_key: str) -> None:
    try:
        from petcover.services import alerts

        alerts.raise_alert(p, target=None, text=text, dedupe_key=dedupe_key)
    except Exception:
        logger.exception("alert not raised", extra={"dedupe_key": dedupe_key})


def deduct_quota(p: Ports, message: dict[str, Any], *, receive_count: int, message_id: str = "") -> str:
    """QuotaQueue consumer body: deduct; on the last attempt alert ops before the DLQ takes it."""
    try:
        return quota.deduct(p, message)
    except Exception as exc:
        if quota.is_last_attempt(receive_count):
            aid = message.get("appointment_id", "?")
            _alert(
                p,
                f"Quota deduction for appointment {aid} failed {receive_count} times and goes to the QuotaDLQ: "
                f"{getattr(exc, 'message', str(exc))[:300]}. Fix the cause, then POST /ops/quota/redrive.",
                f"quota-dlq:{aid}:{message_id}",
            )
        raise
