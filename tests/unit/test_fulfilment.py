"""Fulfilment service with fake_ports: booking, dispatch result, work orders, quota, batches."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from petcover.config import reset_settings
from petcover.errors import (
    BusinessRuleViolation,
    Conflict,
    IllegalTransition,
    InvalidInput,
    NotFound,
)
from petcover.identity import Principal
from petcover.models.fulfilment import (
    BatchRequest,
    BookingRequest,
    CheckInRequest,
    ConfirmTimeRequest,
    DeliverRequest,
    ShipRequest,
    TrackingRequest,
)
from petcover.models.policies import CancelRequest
from petcover.ports import Ports
from petcover.repositories import appointments as appointment_records
from petcover.services import policies, quota, timeline
from petcover.services.fulfilment import (
    assignment,
    batches,
    booking,
    closing,
    quota_deduction,
    views,
    work_orders,
)
from tests.support.bookings import (
    CLINIC,
    SHOP,
    address,
    balance,
    code_of,
    offline,
    online,
    setup_world,
    to_booked,
)
from tests.support.policies import issue_policy

SHOP_B = Principal("channel", "shop-b")
CLINIC_B = Principal("provider", "clinic-b")


# ---------------------------------------------------------------- helpers


def webhook_events(p: Ports, appointment_id: str) -> list[str]:
    out = []
    for item in p.store.all_items():  # type: ignore[attr-defined]
        if item.get("kind") == "webhook_event" and item.get("ref") == f"appointment#{appointment_id}":
            body = json.loads(json.loads(item["data"])["body"])
            out.append((body["version"], body["event_type"]))
    return [t for _, t in sorted(out)]


def drain_quota(p: Ports) -> list[str]:
    return [quota.deduct(p, m) for m in p.publisher.drain("quota")]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- booking


def test_booking_holds_quota_answers_at_once_and_queues_dispatch(fake_ports):
    p = fake_ports
    _clock, number = setup_world(p)
    resp = booking.book_appointment(p, SHOP, number, online())
    assert resp.status == "pending" and resp.mode == "online" and resp.quota_available == 5
    assert balance(p, number, "medicine-delivery") == (0, 1, 5)
    assert p.publisher.sent["dispatch"] == [
        {
            "appointment_id": resp.appointment_id,
            "policy_number": number,
            "channel_id": "shop-a",
            "service_type": "medicine_delivery",
            "province": "310000",
            "city": "310100",
            "district": "310115",
            "national": False,
            "_delay": 0,
            "_id": p.publisher.sent["dispatch"][0]["_id"],
        }
    ]
    assert webhook_events(p, resp.appointment_id) == ["appointment.booked"]
    view = views.get_for_channel(p, SHOP, resp.appointment_id)
    assert view.status == "pending" and view.version == 1 and view.checkin is None


def test_second_booking_of_an_open_benefit_is_a_duplicate_until_the_first_is_closed(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    first = booking.book_appointment(p, SHOP, number, online())
    with pytest.raises(Conflict) as err:
        booking.book_appointment(p, SHOP, number, online())
    assert err.value.code == "DUPLICATE_BOOKING" and err.value.status == 409
    assert "duplicate booking" in err.value.message and first.appointment_id in err.value.message
    assert balance(p, number, "medicine-delivery") == (0, 1, 5)
    # Another benefit of the same policy is independent.
    booking.book_appointment(p, SHOP, number, offline(clock))
    closing.cancel(p, SHOP, first.appointment_id, "changed my mind")
    assert balance(p, number, "medicine-delivery") == (0, 0, 6)
    again = booking.book_appointment(p, SHOP, number, online())
    assert again.appointment_id != first.appointment_id


def test_booking_refusals_each_have_their_own_code(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)

    def refused(req: BookingRequest, who: Principal = SHOP, num: str = number) -> str:
        with pytest.raises((BusinessRuleViolation, NotFound, InvalidInput, Conflict)) as err:
            booking.book_appointment(p, who, num, req)
        return str(err.value.code)

    assert refused(online(), who=SHOP_B) == "POLICY_NOT_FOUND"  # another channel's policy is not found
    assert refused(online().model_copy(update={"benefit_code": "treatment"})) == "BENEFIT_NOT_BOOKABLE"
    assert refused(online().model_copy(update={"benefit_code": "grooming"})) == "BENEFIT_NOT_FOUND"
    assert refused(online(pet="pet-9")) == "PET_NOT_INSURED"
    assert refused(offline(clock).model_copy(update={"preferred_time": None})) == "VALIDATION_FAILED"
    bad_region = online().model_copy(update={"address": address(district="110105")})  # Beijing district
    assert refused(bad_region) == "VALIDATION_FAILED"
    fresh = issue_policy(p, clock, order="o-2", pet="pet-2", days_ago=3)
    assert refused(online(pet="pet-2"), num=fresh) == "BENEFIT_IN_WAITING_PERIOD"
    policies.cancel(p, SHOP, number, CancelRequest(reason="moving abroad"))
    assert refused(online()) == "POLICY_NOT_ACTIVE"
    assert "dispatch" not in p.publisher.sent  # nothing was booked


def test_quota_exhausted_when_every_use_is_consumed(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    aid = to_booked(p, offline(clock), number)
    work_orders.confirm_time(p, CLINIC, aid, ConfirmTimeRequest(appointment_time=clock.now + timedelta(days=1)))
    work_orders.check_in(p, CLINIC, aid, CheckInRequest(code=code_of(p, aid)))
    work_orders.deliver(p, CLINIC, aid, DeliverRequest())
    assert drain_quota(p) == ["deducted"]
    assert balance(p, number, "annual-checkup") == (1, 0, 0)
    with pytest.raises(BusinessRuleViolation) as err:
        booking.book_appointment(p, SHOP, number, offline(clock))
    assert err.value.code == "QUOTA_EXHAUSTED" and err.value.status == 422


def test_dispatch_queue_outage_keeps_the_booking_and_the_sweeper_dispatches_it(fake_ports):
    from datetime import timedelta

    from petcover.services import outbox

    p = fake_ports
    _clock, number = setup_world(p)
    real_send = p.publisher.send

    def send(queue: str, bodies: Any, **kw: Any) -> None:
        if queue == "dispatch":
            raise RuntimeError("SQS down")
        real_send(queue, bodies, **kw)

    p.publisher.send = send
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    assert balance(p, number, "medicine-delivery") == (0, 1, 5)  # held, not lost
    assert p.publisher.sent.get("dispatch", []) == []
    p.publisher.send = real_send
    now = p.now()
    p.clock = lambda: now + timedelta(seconds=61)
    assert outbox.sweep(p) == {"sent": 1}
    assert [m["appointment_id"] for m in p.publisher.drain("dispatch")] == [aid]


# ---------------------------------------------------------------- end-to-end flows


def test_online_flow_assign_accept_ship_track_receipt_then_quota_deducted_once(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    assignment.assign(p, aid, "clinic-a", {"step": "share", "reason": "60/40 split", "candidates": [{}, {}]})
    staff = views.get_for_staff(p, aid)
    assert staff.appointment.status == "booking" and staff.appointment.provider_id == "clinic-a"
    assert staff.appointment.decision == {"step": "share", "reason": "60/40 split", "candidates": 2}
    assert [w.appointment_id for w in work_orders.list_work_orders(p, CLINIC).items] == [aid]
    clock.advance(minutes=5)
    work_orders.accept(p, CLINIC, aid)
    clock.advance(hours=2)
    wo = work_orders.ship(p, CLINIC, aid, ShipRequest(carrier="SF Express", tracking_number="SF1234567890"))
    assert wo.status == "fulfilling" and wo.shipment and wo.shipment.tracking_number == "SF1234567890"
    work_orders.track(p, CLINIC, aid, TrackingRequest(status="in_transit", location="Shanghai hub"))
    work_orders.track(p, CLINIC, aid, TrackingRequest(status="out_for_delivery"))
    assert balance(p, number, "medicine-delivery") == (0, 1, 5)
    clock.advance(days=1)
    done = closing.confirm_receipt(p, SHOP, aid)
    assert done.status == "fulfilled" and done.receipt == "owner" and done.fulfilled_at == clock.now
    # Fulfilled first; the deduction is a separate message, idempotent per appointment.
    assert balance(p, number, "medicine-delivery") == (0, 1, 5)
    msgs = p.publisher.drain("quota")
    assert [m["appointment_id"] for m in msgs] == [aid]
    assert quota.deduct(p, msgs[0]) == "deducted"
    assert quota.deduct(p, msgs[0]) == "duplicate"
    assert balance(p, number, "medicine-delivery") == (1, 0, 5)
    assert views.get_for_staff(p, aid).deduction.deducted is True
    assert [n.node for n in timeline.nodes(p, aid)] == ["assigned", "accepted", "shipped", "completed"]
    assert p.store.get(f"WO#{aid}", "OPEN") is None  # the timeline closed the work order
    assert webhook_events(p, aid) == [
        "appointment.booked",
        "appointment.assigned",
        "appointment.accepted",
        "appointment.shipped",
        "appointment.tracking",
        "appointment.tracking",
        "appointment.fulfilled",
    ]
    steps = [s.action for s in views.get_for_channel(p, SHOP, aid).steps]
    assert steps == ["book", "assign", "accept", "ship", "track", "track", "receipt"]
    # Fulfilled frees the benefit for the next booking (quota permitting).
    booking.book_appointment(p, SHOP, number, online())


def test_offline_check_in_codes_wrong_reused_and_expired_are_refused_each_with_its_own_code(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    aid = to_booked(p, offline(clock), number)
    with pytest.raises(Conflict) as not_issued:
        work_orders.check_in(p, CLINIC, aid, CheckInRequest(code="12345678"))
    assert not_issued.value.code == "CHECKIN_CODE_NOT_ISSUED"

    when = clock.now + timedelta(days=1)
    work_orders.confirm_time(p, CLINIC, aid, ConfirmTimeRequest(appointment_time=when))
    ci = views.get_for_channel(p, SHOP, aid).checkin
    assert ci is not None and len(ci.code) == 8 and ci.code in ci.qr_payload and aid in ci.qr_payload
    assert ci.expires_at == when + timedelta(hours=24)
    assert "code" not in json.dumps(work_orders.get_work_order(p, CLINIC, aid).model_dump(mode="json"))

    wrong = "00000000" if ci.code != "00000000" else "11111111"
    with pytest.raises(BusinessRuleViolation) as err:
        work_orders.check_in(p, CLINIC, aid, CheckInRequest(code=wrong))
    assert err.value.code == "CHECKIN_CODE_INVALID" and err.value.status == 422

    clock.advance(days=2, seconds=1)  # past the appointment time + 24 h
    with pytest.raises(BusinessRuleViolation) as err:
        work_orders.check_in(p, CLINIC, aid, CheckInRequest(code=ci.code))
    assert err.value.code == "CHECKIN_CODE_EXPIRED"

    # A new time issues a new code; the old one is no longer valid.
    work_orders.confirm_time(p, CLINIC, aid, ConfirmTimeRequest(appointment_time=clock.now + timedelta(hours=3)))
    fresh = code_of(p, aid)
    if fresh != ci.code:
        with pytest.raises(BusinessRuleViolation) as err:
            work_orders.check_in(p, CLINIC, aid, CheckInRequest(code=ci.code))
        assert err.value.code == "CHECKIN_CODE_INVALID"
    wo = work_orders.check_in(p, CLINIC, aid, CheckInRequest(code=fresh))
    assert wo.status == "fulfilling" and wo.checked_in
    assert views.get_for_channel(p, SHOP, aid).checkin is None  # used: no longer shown
    with pytest.raises(Conflict) as used:
        work_orders.check_in(p, CLINIC, aid, CheckInRequest(code=fresh))
    assert used.value.code == "CHECKIN_CODE_USED" and used.value.status == 409

    clock.advance(minutes=40)
    work_orders.deliver(p, CLINIC, aid, DeliverRequest(note="All healthy"))
    assert views.get_for_channel(p, SHOP, aid).status == "fulfilled"
    assert drain_quota(p) == ["deducted"]
    assert [n.node for n in timeline.nodes(p, aid)] == [
        "assigned",
        "accepted",
        "appointment_confirmed",
        "appointment_confirmed",
        "served",
        "completed",
    ]
    assert webhook_events(p, aid)[-3:] == ["appointment.time_confirmed", "appointment.served", "appointment.fulfilled"]


def test_too_many_wrong_codes_lock_the_code_until_a_new_one_is_issued(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    aid = to_booked(p, offline(clock), number)
    work_orders.confirm_time(p, CLINIC, aid, ConfirmTimeRequest(appointment_time=clock.now + timedelta(days=1)))
    good = code_of(p, aid)
    wrong = "00000000" if good != "00000000" else "11111111"
    for _ in range(work_orders.CHECKIN_MAX_WRONG_ATTEMPTS):
        with pytest.raises(BusinessRuleViolation):
            work_orders.check_in(p, CLINIC, aid, CheckInRequest(code=wrong))
    with pytest.raises(BusinessRuleViolation) as err:
        work_orders.check_in(p, CLINIC, aid, CheckInRequest(code=good))
    assert err.value.code == "CHECKIN_CODE_LOCKED"
    work_orders.confirm_time(p, CLINIC, aid, ConfirmTimeRequest(appointment_time=clock.now + timedelta(days=1)))
    assert work_orders.check_in(p, CLINIC, aid, CheckInRequest(code=code_of(p, aid))).status == "fulfilling"


# ---------------------------------------------------------------- states, modes, isolation


def test_illegal_moves_are_409_with_a_sentence_a_person_understands(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    assignment.assign(p, aid, "clinic-a", {})
    with pytest.raises(IllegalTransition) as err:
        work_orders.ship(p, CLINIC, aid, ShipRequest(carrier="SF", tracking_number="SF0001"))
    assert err.value.status == 409
    assert err.value.message == "The provider has not accepted the appointment yet, cannot start service."
    work_orders.accept(p, CLINIC, aid)
    with pytest.raises(IllegalTransition) as err:
        work_orders.accept(p, CLINIC, aid)
    assert err.value.message == "Appointment already accepted."
    with pytest.raises(IllegalTransition) as err:
        closing.confirm_receipt(p, SHOP, aid)
    assert err.value.message == "Service has not started yet, cannot complete it."
    with pytest.raises(BusinessRuleViolation) as mode:
        work_orders.confirm_time(p, CLINIC, aid, ConfirmTimeRequest(appointment_time=clock.now + timedelta(days=1)))
    assert mode.value.code == "WRONG_SERVICE_MODE"
    work_orders.ship(p, CLINIC, aid, ShipRequest(carrier="SF", tracking_number="SF0001"))
    with pytest.raises(IllegalTransition) as err:
        closing.cancel(p, SHOP, aid, "too late")
    assert err.value.message == "Service is under way, cannot cancel."
    closing.confirm_receipt(p, SHOP, aid)
    with pytest.raises(IllegalTransition) as err:
        closing.cancel(p, SHOP, aid, "too late")
    assert err.value.message == "Service already fulfilled, cannot cancel."
    with pytest.raises(IllegalTransition) as err:
        work_orders.track(p, CLINIC, aid, TrackingRequest(status="delivered"))
    assert err.value.message == "Service already fulfilled, cannot add tracking."
    # Nothing moved the counters twice.
    assert balance(p, number, "medicine-delivery") == (0, 1, 5)


def test_cancel_from_booked_releases_the_hold_and_closes_the_work_order(fake_ports):
    p = fake_ports
    _clock, number = setup_world(p)
    aid = to_booked(p, online(), number)
    out = closing.cancel(p, SHOP, aid, "pet recovered")
    assert out.status == "cancelled" and out.cancel_reason == "pet recovered"
    assert balance(p, number, "medicine-delivery") == (0, 0, 6)
    assert work_orders.get_work_order(p, CLINIC, aid).status == "cancelled"  # synced to the provider side
    assert timeline.nodes(p, aid)[-1].node == "cancelled"
    assert p.store.get(f"WO#{aid}", "OPEN") is None
    assert webhook_events(p, aid)[-1] == "appointment.cancelled"
    with pytest.raises(IllegalTransition) as err:
        work_orders.accept(p, CLINIC, aid)
    assert err.value.message == "Appointment already cancelled, cannot accept it."


def test_providers_see_and_act_only_on_their_own_work_orders(fake_ports):
    p = fake_ports
    _clock, number = setup_world(p)
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    assignment.assign(p, aid, "clinic-a", {})
    assert work_orders.list_work_orders(p, CLINIC_B).items == []
    provider_acts: list[Callable[[], object]] = [
        lambda: work_orders.get_work_order(p, CLINIC_B, aid),
        lambda: work_orders.accept(p, CLINIC_B, aid),
        lambda: work_orders.ship(p, CLINIC_B, aid, ShipRequest(carrier="SF", tracking_number="SF0001")),
        lambda: work_orders.get_work_order(p, CLINIC, "AP-nope"),
    ]
    for act in provider_acts:
        with pytest.raises(NotFound) as err:
            act()
        assert err.value.code == "WORK_ORDER_NOT_FOUND"
    assert views.get_for_channel(p, SHOP, aid).status == "booking"  # untouched
    channel_acts: list[Callable[[], object]] = [
        lambda: views.get_for_channel(p, SHOP_B, aid),
        lambda: closing.cancel(p, SHOP_B, aid, "not mine"),
        lambda: closing.confirm_receipt(p, SHOP_B, aid),
    ]
    for act in channel_acts:
        with pytest.raises(NotFound) as err:
            act()
        assert err.value.code == "APPOINTMENT_NOT_FOUND"


def test_manual_queue_then_ops_assign_and_repeated_assignments(fake_ports):
    p = fake_ports
    _clock, number = setup_world(p)
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    assignment.assign(p, aid, None, {"step": "manual", "reason": "no rule"})
    doc = views.get_for_staff(p, aid).appointment
    assert doc.status == "booking" and doc.manual and doc.provider_id is None
    assert p.store.query("OPSQUEUE", index="gsi1").items[0]["ref"] == aid
    assert timeline.nodes(p, aid) == []  # no provider, no work order yet
    assignment.assign(p, aid, None, {"step": "manual"})  # the same message twice: no-op
    assert views.get_for_staff(p, aid).appointment.version == doc.version
    assignment.assign(p, aid, "clinic-a", {"step": "manual_override", "reason": "ops picked clinic-a"})
    doc = views.get_for_staff(p, aid).appointment
    assert doc.provider_id == "clinic-a" and not doc.manual
    assert p.store.query("OPSQUEUE", index="gsi1").items == []
    assignment.assign(p, aid, "clinic-a", {"step": "share"})  # duplicate: no-op
    with pytest.raises(Conflict) as err:
        assignment.assign(p, aid, "clinic-b", {"step": "share"})  # an automatic second decision
    assert err.value.code == "ILLEGAL_TRANSITION"
    assignment.assign(p, aid, "clinic-b", {"step": "manual_override"})  # ops move it before acceptance
    assert [w.appointment_id for w in work_orders.list_work_orders(p, CLINIC_B).items] == [aid]
    assert work_orders.list_work_orders(p, CLINIC).items == []
    work_orders.accept(p, CLINIC_B, aid)
    with pytest.raises(IllegalTransition) as err:
        assignment.assign(p, aid, "clinic-a", {"step": "manual_override"})
    assert err.value.message == "Appointment already accepted by a provider, cannot reassign."


def test_assignment_of_a_cancelled_appointment_is_ignored(fake_ports):
    p = fake_ports
    _clock, number = setup_world(p)
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    closing.cancel(p, SHOP, aid, "oops")
    assignment.assign(p, aid, "clinic-a", {})
    doc = views.get_for_staff(p, aid).appointment
    assert doc.status == "cancelled" and doc.provider_id is None


def test_policy_cancellation_cancels_open_appointments_and_releases_holds_idempotently(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    checkup = booking.book_appointment(p, SHOP, number, offline(clock)).appointment_id
    medicine = to_booked(p, online(), number)
    work_orders.ship(p, CLINIC, medicine, ShipRequest(carrier="SF", tracking_number="SF0001"))
    policies.cancel(p, SHOP, number, CancelRequest(reason="moving abroad"))
    detail_type, detail = p.publisher.events[-1]
    assert detail_type == "PolicyCancelled" and detail["policy_number"] == number
    out = closing.cancel_for_policy(p, detail["policy_number"], detail["reason"])
    assert out["cancelled"] == [checkup] and out["under_way"] == [medicine]
    assert views.get_for_channel(p, SHOP, checkup).cancel_reason == f"Policy {number} was cancelled: moving abroad"
    assert balance(p, number, "annual-checkup") == (0, 0, 1)
    assert balance(p, number, "medicine-delivery") == (0, 1, 5)  # the shipment finishes and is deducted
    again = closing.cancel_for_policy(p, number, "moving abroad")
    assert again["cancelled"] == [] and again["under_way"] == [medicine]
    assert balance(p, number, "annual-checkup") == (0, 0, 1)


def test_auto_receipt_after_the_configured_days(fake_ports, monkeypatch):
    monkeypatch.setenv("AUTO_RECEIPT_DAYS", "5")
    reset_settings()
    try:
        p = fake_ports
        clock, number = setup_world(p)
        aid = to_booked(p, online(), number)
        work_orders.ship(p, CLINIC, aid, ShipRequest(carrier="SF", tracking_number="SF0001"))
        clock.advance(days=4, hours=23)
        assert closing.auto_receipts(p)["confirmed"] == 0
        clock.advance(hours=2)
        assert closing.auto_receipts(p)["confirmed"] == 1
        doc = views.get_for_channel(p, SHOP, aid)
        assert doc.status == "fulfilled" and doc.receipt == "auto"
        assert p.store.get(*appointment_records.appointment_key(aid)).get("gsi3pk") is None  # left the index
        assert closing.auto_receipts(p)["confirmed"] == 0
        assert drain_quota(p) == ["deducted"]
    finally:
        reset_settings()


# ---------------------------------------------------------------- batches


def test_batch_with_a_bad_item_books_the_others_and_reports_per_item(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    other = issue_policy(p, clock, order="o-2", pet="pet-2")
    good = {"policy_number": number, **online().model_dump(mode="json")}
    req = BatchRequest(
        items=[
            good,
            {"policy_number": number, "benefit_code": "medicine-delivery"},  # malformed
            {"policy_number": other, **online(pet="pet-2").model_dump(mode="json")},
            good,  # the same benefit again: duplicate booking
        ]
    )
    accepted = batches.create_batch(p, SHOP, req, "batch-key-1")
    assert (accepted.total, accepted.accepted, accepted.rejected) == (4, 3, 1)
    messages = p.publisher.drain("booking")
    assert [m["index"] for m in messages] == [0, 2, 3]
    outcomes = [batches.process_batch_item(p, m) for m in messages]
    assert outcomes == ["booked", "booked", "rejected"]
    assert [batches.process_batch_item(p, m) for m in messages] == ["duplicate"] * 3  # redelivery
    status = batches.batch_status(p, SHOP, accepted.batch_id)
    assert (status.total, status.accepted, status.issued, status.rejected, status.pending) == (4, 3, 2, 2, 0)
    assert status.done
    by_index = {r.index: r for r in status.items}
    assert by_index[1].error and by_index[1].error["code"] == "VALIDATION_FAILED"
    assert by_index[3].error and by_index[3].error["code"] == "DUPLICATE_BOOKING"
    assert by_index[0].appointment_id == batches.batch_appointment_id(accepted.batch_id, 0)
    assert len(p.publisher.sent["dispatch"]) == 2
    assert balance(p, number, "medicine-delivery") == (0, 1, 5)
    # The same request again (same Idempotency-Key) resumes the same batch: nothing twice.
    replay = batches.create_batch(p, SHOP, req, "batch-key-1")
    assert replay.replayed and replay.batch_id == accepted.batch_id
    assert [batches.process_batch_item(p, m) for m in p.publisher.drain("booking")] == ["duplicate"] * 3
    status = batches.batch_status(p, SHOP, accepted.batch_id, limit=2)
    assert (status.issued, status.rejected) == (2, 2) and len(status.items) == 2 and status.cursor
    with pytest.raises(NotFound):
        batches.batch_status(p, SHOP_B, accepted.batch_id)


def test_a_warm_batch_consumer_reads_the_batch_once_for_all_its_items(fake_ports, monkeypatch):
    p = fake_ports
    clock, number = setup_world(p)
    items = [{"policy_number": number, **online().model_dump(mode="json")}]
    items += [
        {
            "policy_number": issue_policy(p, clock, order=f"o-{i}", pet=f"pet-{i}"),
            **online(pet=f"pet-{i}").model_dump(mode="json"),
        }
        for i in range(2, 5)
    ]
    accepted = batches.create_batch(p, SHOP, BatchRequest(items=items), "batch-key-warm")
    reads: list[str] = []
    real = batches.records.find_batch
    monkeypatch.setattr(batches.records, "find_batch", lambda p_, bid: reads.append(bid) or real(p_, bid))
    assert [batches.process_batch_item(p, m) for m in p.publisher.drain("booking")] == ["booked"] * 4
    assert reads == [accepted.batch_id]
    with pytest.raises(NotFound):  # a batch that does not exist is not remembered as one
        batches.process_batch_item(p, {"batch_id": "BT-none", "index": 0, "channel_id": SHOP.id, "item": items[0]})


def test_batch_item_that_keeps_failing_is_rejected_on_its_last_attempt(fake_ports):
    p = fake_ports
    _clock, number = setup_world(p)
    req = BatchRequest(items=[{"policy_number": number, **online().model_dump(mode="json")}])
    accepted = batches.create_batch(p, SHOP, req, "k")
    msg = p.publisher.drain("booking")[0]
    # A transient refusal: retried by SQS (raised), then recorded as failed on the last attempt.
    real = booking.book

    def busy(*a: Any, **kw: Any) -> Any:
        raise Conflict("busy", code="POLICY_CHANGED")

    booking.book = busy  # type: ignore[assignment]
    try:
        with pytest.raises(Conflict):
            batches.process_batch_item(p, msg)
        assert batches.process_batch_item(p, msg, last_attempt=True) == "rejected"
    finally:
        booking.book = real  # type: ignore[assignment]
    status = batches.batch_status(p, SHOP, accepted.batch_id)
    assert status.rejected == 1 and status.items[0].error["code"] == "BOOKING_FAILED"  # type: ignore[index]


# ---------------------------------------------------------------- quota ledger


def test_deduction_failure_alerts_ops_on_the_last_attempt(fake_ports, monkeypatch):
    monkeypatch.setenv("OPS_CHAT_URL", "https://hooks.example.com/ops")
    reset_settings()
    try:
        p = fake_ports
        _clock, number = setup_world(p)
        aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
        msg = quota.deduction_message(aid, number, "medicine-delivery")
        for attempt in range(1, 5):
            with pytest.raises(BusinessRuleViolation) as err:
                quota_deduction.deduct_quota(p, msg, receive_count=attempt, message_id="m1")
            assert err.value.code == "NOT_FULFILLED"
        assert "alert" not in p.publisher.sent
        with pytest.raises(BusinessRuleViolation):
            quota_deduction.deduct_quota(p, msg, receive_count=5, message_id="m1")
        alerts = p.publisher.sent["alert"]
        assert len(alerts) == 1 and aid in alerts[0]["text"] and "/ops/quota/redrive" in alerts[0]["text"]
        assert balance(p, number, "medicine-delivery") == (0, 1, 5)
    finally:
        reset_settings()


def test_backoff_grows_and_the_last_attempt_is_the_redrive_count():
    assert [quota.backoff_seconds(n) for n in range(1, 7)] == [30, 60, 120, 240, 480, 900]
    assert not quota.is_last_attempt(4) and quota.is_last_attempt(5)


class FakeSqs:
    def __init__(self, dlq: list[str]) -> None:
        self.queues: dict[str, list[dict[str, Any]]] = {
            "dlq": [{"Body": b, "ReceiptHandle": f"r{i}", "MessageId": str(i)} for i, b in enumerate(dlq)],
            "main": [],
        }
        self.visibility: list[int] = []

    def receive_message(self, QueueUrl: str, MaxNumberOfMessages: int, **_: Any) -> dict[str, Any]:
        taken = [m for m in self.queues[QueueUrl] if not m.get("_inflight")][:MaxNumberOfMessages]
        for m in taken:
            m["_inflight"] = True
        return {"Messages": taken}

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.queues[QueueUrl].extend({"Body": e["MessageBody"]} for e in Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        handles = {e["ReceiptHandle"] for e in Entries}
        self.queues[QueueUrl] = [m for m in self.queues[QueueUrl] if m.get("ReceiptHandle") not in handles]
        return {"Successful": Entries}

    def change_message_visibility(self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int) -> None:
        self.visibility.append(VisibilityTimeout)


def test_redrive_adapter_moves_every_dlq_message_back_and_deletes_it():
    sqs = FakeSqs([json.dumps({"appointment_id": f"A{i}"}) for i in range(23)])
    assert quota.redrive_dlq(sqs, "dlq", "main") == 23
    assert sqs.queues["dlq"] == []
    assert sorted(json.loads(m["Body"])["appointment_id"] for m in sqs.queues["main"]) == sorted(
        f"A{i}" for i in range(23)
    )
    assert quota.delay_retry(sqs, "main", "r1", 3) and sqs.visibility == [120]


def test_reconciliation_proves_used_equals_fulfilled_and_reports_mismatches(fake_ports):
    p = fake_ports
    _clock, number = setup_world(p)
    aid = to_booked(p, online(), number)
    work_orders.ship(p, CLINIC, aid, ShipRequest(carrier="SF", tracking_number="SF0001"))
    closing.confirm_receipt(p, SHOP, aid)
    pending_msgs = p.publisher.drain("quota")
    report = quota.reconcile(p, policy_number=number)
    # Fulfilled but not yet deducted is reported (the message may be stuck in the DLQ).
    [m] = report.mismatches
    assert m.benefit_code == "medicine-delivery" and m.undeducted == [aid] and m.used == 0 and m.fulfilled == 1
    for msg in pending_msgs:
        quota.deduct(p, msg)
    assert quota.reconcile(p, policy_number=number).mismatches == []
    today = quota.business_day(p)
    assert quota.reconcile(p, day=today).checked >= 1
    # A hand-made mismatch: someone bumped "used" directly.
    qpk, qsk = quota.quota_key(number, "medicine-delivery")
    p.store.update(qpk, qsk, add={"used": 1, "available": -1})
    report = quota.reconcile(p, day=today)
    [m] = report.mismatches
    assert m.used == 2 and m.fulfilled == 1 and m.deducted == 1
    assert "used is 2 but 1 appointment(s) are fulfilled" in m.problems
    assert any(i.get("kind") == "quota_reconciliation" for i in p.store.all_items())


def test_reconciliation_repair_resends_missing_deductions(fake_ports):
    p = fake_ports
    _clock, number = setup_world(p)
    aid = to_booked(p, online(), number)
    work_orders.ship(p, CLINIC, aid, ShipRequest(carrier="SF", tracking_number="SF0001"))
    closing.confirm_receipt(p, SHOP, aid)
    p.publisher.drain("quota")  # the message was lost
    report = quota.reconcile(p, policy_number=number, repair=True)
    assert report.resent == 1
    assert drain_quota(p) == ["deducted"]
    assert quota.reconcile(p, policy_number=number).mismatches == []
