"""Fulfilment end to end in-process: handlers from template.yaml, events from events/, moto.

Dispatch is simulated by calling ``assignment.assign`` (the dispatch consumer is another area).
The clock of the ports is controllable; signed calls are signed at that clock's time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from petcover import runtime, tokens
from petcover.config import reset_settings
from petcover.domain.catalog import InsuredFacts
from petcover.identity import Principal
from petcover.models.policies import Holder, UnderwriteRequest
from petcover.ports import Ports
from petcover.repositories import partners as keys
from petcover.services import credentials, policies, quota
from petcover.services.fulfilment import assignment
from tests.support import events
from tests.support.calls import OPS_SECRET, handler_of, sign
from tests.support.clock import Clock
from tests.support.fixtures import catalogue

REGION = "us-east-1"


@dataclass
class World:
    names: dict[str, str]
    p: Ports
    clock: Clock
    shop_a: tuple[str, str]
    shop_b: tuple[str, str]
    clinic_a: tuple[str, str]
    clinic_b: tuple[str, str]
    number: str
    sqs: Any

    def call(
        self,
        function: str,
        *,
        path: dict[str, str] | None = None,
        body: Any = None,
        key: tuple[str, str] | None = None,
        ops: tuple[str, ...] | None = None,
        idem: str | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        headers: dict[str, str] = {}
        if idem:
            headers["Idempotency-Key"] = idem
        if ops is not None:
            token = tokens.mint(OPS_SECRET, "alice", list(ops), now=int(self.clock().timestamp()))
            headers["Authorization"] = f"Bearer {token}"
        ev = events.api(function, path_params=path, body=body, headers=headers, query=query)
        if key is not None:
            sign(ev, *key, now=int(self.clock().timestamp()))
        resp = handler_of(function)(ev, None)
        return resp["statusCode"], json.loads(resp["body"] or "null")

    def drain(self, logical: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.names[logical], MaxNumberOfMessages=10, WaitTimeSeconds=0)
            msgs = got.get("Messages") or []
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.names[logical], ReceiptHandle=m["ReceiptHandle"])

    def consume(self, function: str, bodies: list[dict[str, Any]], receive_count: int = 1) -> dict[str, Any]:
        return handler_of(function)(events.sqs(function, bodies, receive_count=receive_count), None)  # type: ignore[no-any-return]

    def quota_of(self, benefit: str, number: str | None = None) -> dict[str, int]:
        status, pol = self.call("GetPolicyFunction", path={"number": number or self.number}, key=self.shop_a)
        assert status == 200, pol
        b = next(b for b in pol["benefits"] if b["code"] == benefit)
        return {k: b[k] for k in ("quota", "used", "held", "available")}


def _provider(p: Ports, provider_id: str) -> tuple[str, str]:
    pk, sk = keys.partner(provider_id)
    p.store.put(
        {
            "pk": pk,
            "sk": sk,
            "kind": "partner",
            "state": "active",
            "data": json.dumps({"id": provider_id, "kind": "provider", "name": provider_id.title()}),
        }
    )
    k = credentials.issue(p, "provider", provider_id)
    return k.key_id, k.secret


def _policy(p: Ports, clock: Clock, order: str, pet: str) -> str:
    saved = clock.now
    clock.now = saved - timedelta(days=30)  # past the 15-day waiting period
    try:
        return policies.underwrite(
            p,
            Principal("channel", "shop-a"),
            UnderwriteRequest(
                product_code="pet-health",
                plan_code="basic",
                insured=InsuredFacts(insured_id=pet, species="dog", breed_size="small", age_months=30, region="310115"),
                channel_order_id=order,
                holder=Holder(name="Li Lei"),
            ),
        ).number
    finally:
        clock.now = saved


@pytest.fixture
def world(aws) -> World:
    p = runtime.ports()
    clock = Clock()
    p.clock = clock
    real_now = clock.now
    clock.now = real_now - timedelta(days=60)
    keys_by_channel = catalogue(p, ("shop-a", "shop-b"))
    clock.now = real_now
    number = _policy(p, clock, "order-1", "pet-1")
    return World(
        names=aws,
        p=p,
        clock=clock,
        shop_a=keys_by_channel["shop-a"],
        shop_b=keys_by_channel["shop-b"],
        clinic_a=_provider(p, "clinic-a"),
        clinic_b=_provider(p, "clinic-b"),
        number=number,
        sqs=boto3.client("sqs", region_name=REGION),
    )


ADDRESS = {
    "contact_name": "Li Lei",
    "phone": "+86 138 0000 0000",
    "line": "Room 1, 100 Century Avenue",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}


def online_body(pet: str = "pet-1") -> dict[str, Any]:
    return {"benefit_code": "medicine-delivery", "pet": {"pet_id": pet, "name": "Bobo"}, "address": ADDRESS}


def offline_body(w: World, pet: str = "pet-1") -> dict[str, Any]:
    when = (w.clock.now + timedelta(days=2)).isoformat()
    return {
        "benefit_code": "annual-checkup",
        "pet": {"pet_id": pet, "name": "Bobo"},
        "address": ADDRESS,
        "preferred_time": when,
    }


def book(w: World, body: dict[str, Any], idem: str, number: str | None = None) -> str:
    status, out = w.call(
        "BookAppointmentFunction", path={"number": number or w.number}, body=body, key=w.shop_a, idem=idem
    )
    assert status == 201, out
    return str(out["appointment_id"])


def dispatched(w: World, aid: str, provider: str | None = "clinic-a") -> None:
    """Simulates the dispatch consumer: read our message, then hand the decision to fulfilment."""
    msgs = w.drain("DispatchQueue")
    assert [m["appointment_id"] for m in msgs] == [aid]
    assert msgs[0]["national"] is False and msgs[0]["district"] == "310115"
    assignment.assign(w.p, aid, provider, {"step": "share", "reason": "integration test"})


def hook_types(w: World, aid: str) -> list[str]:
    from petcover.repositories import webhooks as webhook_records

    found = []
    for m in w.drain("WebhookQueue"):
        item = w.p.store.get(*webhook_records.delivery_key(m["event_id"]))
        assert item is not None
        body = json.loads(json.loads(item["data"])["body"])
        if body["object_id"] == aid:
            found.append((body["version"], body["event_type"]))
    return [t for _, t in sorted(found)]


def wo(w: World, function: str, aid: str, key: tuple[str, str], body: Any = None) -> tuple[int, Any]:
    return w.call(function, path={"appointmentId": aid}, key=key, body=body)


# ---------------------------------------------------------------- idempotency in the booking transaction


def _signed_booking(w: World, idem: str, body: dict[str, Any]) -> dict[str, Any]:
    ev = events.api(
        "BookAppointmentFunction", path_params={"number": w.number}, body=body, headers={"Idempotency-Key": idem}
    )
    sign(ev, *w.shop_a, now=int(w.clock().timestamp()))
    return handler_of("BookAppointmentFunction")(ev, None)  # type: ignore[no-any-return]


def test_a_repeated_booking_replays_the_first_answer_from_the_record_its_transaction_wrote(world: World):
    w = world
    first = _signed_booking(w, "once-1", online_body())
    again = _signed_booking(w, "once-1", online_body())
    assert first["statusCode"] == again["statusCode"] == 201
    assert json.loads(again["body"]) == json.loads(first["body"])
    assert again["headers"].get("Idempotency-Replayed") == "true" and "Idempotency-Replayed" not in first["headers"]
    assert w.quota_of("medicine-delivery")["held"] == 1  # held once
    assert [m["appointment_id"] for m in w.drain("DispatchQueue")] == [json.loads(first["body"])["appointment_id"]]
    # No Powertools record: the answer lives in the booking's own transaction.
    assert boto3.client("dynamodb", region_name=REGION).scan(TableName=w.names["IdempotencyTable"])["Count"] == 0


def test_the_same_key_with_another_body_is_refused_and_books_nothing(world: World):
    w = world
    assert _signed_booking(w, "once-2", online_body())["statusCode"] == 201
    other = {**online_body(), "note": "another request"}
    out = _signed_booking(w, "once-2", other)
    assert out["statusCode"] == 409 and json.loads(out["body"])["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert w.quota_of("medicine-delivery")["held"] == 1


def test_a_failed_booking_leaves_no_record_so_the_key_can_be_retried(world: World):
    w = world
    refused = _signed_booking(w, "once-3", {**online_body(), "benefit_code": "no-such-benefit"})
    assert refused["statusCode"] == 404 and "Idempotency-Replayed" not in refused["headers"]
    retried = _signed_booking(w, "once-3", online_body())  # corrected: nothing was recorded for the key
    assert retried["statusCode"] == 201 and "Idempotency-Replayed" not in retried["headers"]


# ---------------------------------------------------------------- the whole online flow


def test_booking_assign_accept_ship_receipt_fulfilled_then_quota_deducted(world: World):
    w = world
    aid = book(w, online_body(), "book-1")
    # Idempotent create: the same key answers the same appointment, flagged as replayed.
    status, again = w.call(
        "BookAppointmentFunction", path={"number": w.number}, body=online_body(), key=w.shop_a, idem="book-1"
    )
    assert status == 201 and again["appointment_id"] == aid
    assert w.quota_of("medicine-delivery") == {"quota": 6, "used": 0, "held": 1, "available": 5}
    status, err = w.call(
        "BookAppointmentFunction", path={"number": w.number}, body=online_body(), key=w.shop_a, idem="book-2"
    )
    assert status == 409 and err["error"]["code"] == "DUPLICATE_BOOKING"

    dispatched(w, aid)
    status, listed = w.call("ListWorkOrdersFunction", key=w.clinic_a)
    assert status == 200 and [i["appointment_id"] for i in listed["items"]] == [aid]
    assert "policy_number" not in listed["items"][0]  # providers see the work, not the policy
    w.clock.advance(minutes=3)
    status, out = wo(w, "AcceptWorkOrderFunction", aid, w.clinic_a)
    assert status == 200 and out["status"] == "booked", out
    w.clock.advance(hours=1)
    status, out = wo(
        w, "ShipWorkOrderFunction", aid, w.clinic_a, {"carrier": "SF Express", "tracking_number": "SF1234567890"}
    )
    assert status == 200 and out["status"] == "fulfilling", out
    status, out = wo(w, "TrackWorkOrderFunction", aid, w.clinic_a, {"status": "in_transit", "location": "Shanghai"})
    assert status == 200 and out["shipment"]["events"][0]["status"] == "in_transit"
    status, out = w.call(
        "CancelAppointmentFunction", path={"appointmentId": aid}, body={"reason": "x"}, key=w.shop_a, idem="c-1"
    )
    assert status == 409 and out["error"]["message"] == "Service is under way, cannot cancel."

    w.clock.advance(days=1)
    status, out = w.call("ConfirmReceiptFunction", path={"appointmentId": aid}, key=w.shop_a)
    assert status == 200 and out["status"] == "fulfilled" and out["receipt"] == "owner", out
    # Fulfilled first: the hold is still there until the ledger consumes the message.
    assert w.quota_of("medicine-delivery") == {"quota": 6, "used": 0, "held": 1, "available": 5}
    msgs = w.drain("QuotaQueue")
    assert msgs == [{"appointment_id": aid, "policy_number": w.number, "benefit_code": "medicine-delivery"}]
    assert w.consume("QuotaDeductFunction", msgs) == {"batchItemFailures": []}
    assert w.consume("QuotaDeductFunction", msgs + msgs) == {"batchItemFailures": []}  # duplicates
    assert w.quota_of("medicine-delivery") == {"quota": 6, "used": 1, "held": 0, "available": 5}

    status, out = w.call(
        "CancelAppointmentFunction", path={"appointmentId": aid}, body={"reason": "x"}, key=w.shop_a, idem="c-2"
    )
    assert status == 409 and out["error"] == {
        "code": "ILLEGAL_TRANSITION",
        "message": "Service already fulfilled, cannot cancel.",
        "details": {"machine": "appointment", "from": "fulfilled", "action": "cancel", "allowed": []},
    }
    status, staff = w.call("OpsGetAppointmentFunction", path={"appointmentId": aid}, ops=("ops",))
    assert status == 200 and staff["deduction"]["deducted"] is True
    assert [n["node"] for n in staff["nodes"]] == ["assigned", "accepted", "shipped", "completed"]
    assert staff["lock"]["fence"] == 7  # one lease per change: 5 changes and the 2 refused cancels
    # Every status change the channel shows was queued as a signed webhook, in order.
    assert hook_types(w, aid) == [
        "appointment.booked",
        "appointment.assigned",
        "appointment.accepted",
        "appointment.shipped",
        "appointment.tracking",
        "appointment.fulfilled",
    ]


# ---------------------------------------------------------------- offline: check-in codes


def test_offline_check_in_codes_wrong_reused_and_expired_each_have_their_own_code(world: World):
    w = world
    aid = book(w, offline_body(w), "book-off")
    dispatched(w, aid)
    assert wo(w, "AcceptWorkOrderFunction", aid, w.clinic_a)[0] == 200
    status, out = wo(w, "CheckInWorkOrderFunction", aid, w.clinic_a, {"code": "12345678"})
    assert status == 409 and out["error"]["code"] == "CHECKIN_CODE_NOT_ISSUED"
    when = w.clock.now + timedelta(hours=2)
    status, out = wo(w, "ConfirmWorkOrderTimeFunction", aid, w.clinic_a, {"appointment_time": when.isoformat()})
    assert status == 200 and out["appointment_time"].startswith(when.isoformat()[:19]), out
    assert "checkin" not in out and "code" not in json.dumps(out)  # the provider never sees the code
    status, mine = w.call("GetAppointmentFunction", path={"appointmentId": aid}, key=w.shop_a)
    assert status == 200
    code = mine["checkin"]["code"]
    assert mine["checkin"]["qr_payload"] == f"petcover://check-in?a={aid}&c={code}"

    wrong = "00000000" if code != "00000000" else "11111111"
    status, out = wo(w, "CheckInWorkOrderFunction", aid, w.clinic_a, {"code": wrong})
    assert status == 422 and out["error"]["code"] == "CHECKIN_CODE_INVALID"

    w.clock.advance(hours=26, minutes=1)  # the appointment time + 24 h has passed
    status, out = wo(w, "CheckInWorkOrderFunction", aid, w.clinic_a, {"code": code})
    assert status == 422 and out["error"]["code"] == "CHECKIN_CODE_EXPIRED"

    when = w.clock.now + timedelta(hours=1)
    assert wo(w, "ConfirmWorkOrderTimeFunction", aid, w.clinic_a, {"appointment_time": when.isoformat()})[0] == 200
    code = w.call("GetAppointmentFunction", path={"appointmentId": aid}, key=w.shop_a)[1]["checkin"]["code"]
    status, out = wo(w, "CheckInWorkOrderFunction", aid, w.clinic_b, {"code": code})
    assert status == 404 and out["error"]["code"] == "WORK_ORDER_NOT_FOUND"  # another provider
    status, out = wo(w, "CheckInWorkOrderFunction", aid, w.clinic_a, {"code": code})
    assert status == 200 and out["status"] == "fulfilling" and out["checked_in"] is True
    status, out = wo(w, "CheckInWorkOrderFunction", aid, w.clinic_a, {"code": code})
    assert status == 409 and out["error"]["code"] == "CHECKIN_CODE_USED"

    w.clock.advance(minutes=45)
    status, out = wo(w, "DeliverWorkOrderFunction", aid, w.clinic_a, {"note": "healthy"})
    assert status == 200 and out["status"] == "fulfilled"
    assert w.consume("QuotaDeductFunction", w.drain("QuotaQueue")) == {"batchItemFailures": []}
    assert w.quota_of("annual-checkup") == {"quota": 1, "used": 1, "held": 0, "available": 0}
    status, out = w.call(
        "BookAppointmentFunction", path={"number": w.number}, body=offline_body(w), key=w.shop_a, idem="book-off-2"
    )
    assert status == 422 and out["error"]["code"] == "QUOTA_EXHAUSTED"
    assert hook_types(w, aid)[-3:] == ["appointment.time_confirmed", "appointment.served", "appointment.fulfilled"]


# ---------------------------------------------------------------- isolation


def test_providers_and_channels_see_only_their_own(world: World):
    w = world
    aid = book(w, online_body(), "iso-1")
    dispatched(w, aid)
    status, listed = w.call("ListWorkOrdersFunction", key=w.clinic_b)
    assert status == 200 and listed["items"] == []
    for function in ("GetWorkOrderFunction", "AcceptWorkOrderFunction"):
        status, out = wo(w, function, aid, w.clinic_b)
        assert status == 404 and out["error"]["code"] == "WORK_ORDER_NOT_FOUND", function
    status, out = wo(w, "ShipWorkOrderFunction", aid, w.clinic_b, {"carrier": "SF", "tracking_number": "SF0001"})
    assert status == 404
    status, out = w.call("GetAppointmentFunction", path={"appointmentId": aid}, key=w.shop_b)
    assert status == 404 and out["error"]["code"] == "APPOINTMENT_NOT_FOUND"
    status, out = w.call(
        "CancelAppointmentFunction", path={"appointmentId": aid}, body={"reason": "x"}, key=w.shop_b, idem="iso-c"
    )
    assert status == 404
    status, out = w.call(
        "BookAppointmentFunction", path={"number": w.number}, body=online_body(), key=w.shop_b, idem="iso-b"
    )
    assert status == 404 and out["error"]["code"] == "POLICY_NOT_FOUND"
    # A provider key cannot use channel operations, nor a channel key provider ones.
    status, out = w.call("GetAppointmentFunction", path={"appointmentId": aid}, key=w.clinic_a)
    assert status == 403 and out["error"]["code"] == "WRONG_PARTNER_KIND"
    status, out = w.call("ListWorkOrdersFunction", key=w.shop_a)
    assert status == 403 and out["error"]["code"] == "WRONG_PARTNER_KIND"
    # The owner and the assigned provider still see it, untouched.
    assert w.call("GetAppointmentFunction", path={"appointmentId": aid}, key=w.shop_a)[1]["status"] == "booking"
    assert wo(w, "GetWorkOrderFunction", aid, w.clinic_a)[1]["status"] == "booking"


# ---------------------------------------------------------------- batches


def test_batch_with_one_bad_item_books_the_others_and_reports_each_item(world: World):
    w = world
    second = _policy(w.p, w.clock, "order-2", "pet-2")
    items = [
        {"policy_number": w.number, **online_body()},
        {"policy_number": w.number, "benefit_code": "medicine-delivery", "pet": {"pet_id": "pet-1"}},  # malformed
        {"policy_number": second, **online_body("pet-2")},
        {"policy_number": second, **online_body("pet-9")},  # not the insured pet
    ]
    status, accepted = w.call("CreateBookingBatchFunction", body={"items": items}, key=w.shop_a, idem="batch-1")
    assert status == 202, accepted
    assert (accepted["total"], accepted["accepted"], accepted["rejected"]) == (4, 3, 1)
    messages = w.drain("BookingQueue")
    assert sorted(m["index"] for m in messages) == [0, 2, 3]
    assert w.consume("BookingBatchItemFunction", messages) == {"batchItemFailures": []}
    assert w.consume("BookingBatchItemFunction", messages) == {"batchItemFailures": []}  # redelivered
    batch_id = accepted["batch_id"]
    status, out = w.call("GetBookingBatchFunction", path={"batchId": batch_id}, key=w.shop_a)
    assert status == 200, out
    assert {k: out[k] for k in ("total", "accepted", "issued", "rejected", "pending", "done")} == {
        "total": 4,
        "accepted": 3,
        "issued": 2,
        "rejected": 2,
        "pending": 0,
        "done": True,
    }
    results = {r["index"]: r for r in out["items"]}
    assert results[0]["status"] == "booked" and results[2]["status"] == "booked"
    assert results[1]["error"]["code"] == "VALIDATION_FAILED"
    assert results[3]["error"]["code"] == "PET_NOT_INSURED"
    status, page = w.call("GetBookingBatchFunction", path={"batchId": batch_id}, key=w.shop_a, query={"limit": "3"})
    assert status == 200 and len(page["items"]) == 3 and page["cursor"]
    status, rest = w.call(
        "GetBookingBatchFunction",
        path={"batchId": batch_id},
        key=w.shop_a,
        query={"limit": "3", "cursor": page["cursor"]},
    )
    assert status == 200 and [r["index"] for r in rest["items"]] == [3]
    assert len(w.drain("DispatchQueue")) == 2
    assert w.quota_of("medicine-delivery") == {"quota": 6, "used": 0, "held": 1, "available": 5}
    booked = w.call("GetAppointmentFunction", path={"appointmentId": results[0]["appointment_id"]}, key=w.shop_a)
    assert booked[0] == 200 and booked[1]["batch"] == f"{batch_id}#0"
    status, out = w.call("GetBookingBatchFunction", path={"batchId": batch_id}, key=w.shop_b)
    assert status == 404 and out["error"]["code"] == "BATCH_NOT_FOUND"
    status, out = w.call("CreateBookingBatchFunction", body={"items": [{}] * 1001}, key=w.shop_a, idem="batch-big")
    assert status == 400


# ---------------------------------------------------------------- policy cancellation


def test_policy_cancelled_event_cancels_open_appointments_and_releases_holds(world: World):
    w = world
    checkup = book(w, offline_body(w), "pc-1")
    medicine = book(w, online_body(), "pc-2")
    w.drain("DispatchQueue")
    assignment.assign(w.p, medicine, "clinic-a", {})
    assert w.quota_of("annual-checkup")["held"] == 1 and w.quota_of("medicine-delivery")["held"] == 1
    status, out = w.call(
        "CancelFunction", path={"number": w.number}, body={"reason": "moving abroad"}, key=w.shop_a, idem="pol-cancel"
    )
    assert status == 200, out
    detail = {"policy_number": w.number, "channel_id": "shop-a", "reason": "moving abroad"}
    result = handler_of("PolicyCancelledAppointmentsFunction")(
        events.rule("PolicyCancelledAppointmentsFunction", detail), None
    )
    assert sorted(result["cancelled"]) == sorted([checkup, medicine]) and result["under_way"] == []
    for aid in (checkup, medicine):
        status, out = w.call("GetAppointmentFunction", path={"appointmentId": aid}, key=w.shop_a)
        assert out["status"] == "cancelled" and "moving abroad" in out["cancel_reason"]
    assert w.quota_of("annual-checkup") == {"quota": 1, "used": 0, "held": 0, "available": 1}
    assert w.quota_of("medicine-delivery") == {"quota": 6, "used": 0, "held": 0, "available": 6}
    assert wo(w, "GetWorkOrderFunction", medicine, w.clinic_a)[1]["status"] == "cancelled"
    again = handler_of("PolicyCancelledAppointmentsFunction")(
        events.rule("PolicyCancelledAppointmentsFunction", detail), None
    )
    assert again["cancelled"] == []  # idempotent: nothing released twice
    assert w.quota_of("medicine-delivery")["available"] == 6
    status, out = w.call(
        "BookAppointmentFunction", path={"number": w.number}, body=online_body(), key=w.shop_a, idem="pc-3"
    )
    assert status == 422 and out["error"]["code"] == "POLICY_NOT_ACTIVE"


# ---------------------------------------------------------------- quota ops


def _fulfil_online(w: World, idem: str) -> str:
    aid = book(w, online_body(), idem)
    dispatched(w, aid)
    wo(w, "AcceptWorkOrderFunction", aid, w.clinic_a)
    wo(w, "ShipWorkOrderFunction", aid, w.clinic_a, {"carrier": "SF", "tracking_number": "SF0001"})
    status, out = w.call("ConfirmReceiptFunction", path={"appointmentId": aid}, key=w.shop_a)
    assert status == 200 and out["status"] == "fulfilled", out
    return aid


def test_reconciliation_reports_a_mismatch_made_by_hand(world: World):
    w = world
    _fulfil_online(w, "rec-1")
    assert w.consume("QuotaDeductFunction", w.drain("QuotaQueue")) == {"batchItemFailures": []}
    status, report = w.call("ReconcileQuotaFunction", body={"policy_number": w.number}, ops=("ops",))
    assert status == 200 and report["checked"] == 3 and report["mismatches"] == [], report
    qpk, qsk = quota.quota_key(w.number, "medicine-delivery")
    w.p.store.update(qpk, qsk, add={"used": 1, "available": -1})  # an unaccounted use
    status, report = w.call("ReconcileQuotaFunction", body={"policy_number": w.number}, ops=("finance",))
    assert status == 200
    [m] = report["mismatches"]
    assert (m["benefit_code"], m["used"], m["fulfilled"], m["deducted"]) == ("medicine-delivery", 2, 1, 1)
    assert "used is 2 but 1 appointment(s) are fulfilled" in m["problems"]
    day = quota.business_day(w.p)
    status, report = w.call("ReconcileQuotaFunction", body={"day": day}, ops=("ops",))
    assert status == 200 and [x["policy_number"] for x in report["mismatches"]] == [w.number]
    status, _out = w.call("ReconcileQuotaFunction", body={"policy_number": w.number}, ops=("sales",))
    assert status == 403


def test_deduction_failing_to_the_last_attempt_alerts_ops_and_redrive_reruns_it(world: World, monkeypatch):
    w = world
    monkeypatch.setenv("OPS_CHAT_URL", "https://hooks.example.com/ops-chat")
    reset_settings()
    aid = _fulfil_online(w, "dlq-1")
    [msg] = w.drain("QuotaQueue")
    # Break the ledger so the deduction fails: the hold is gone.
    qpk, qsk = quota.quota_key(w.number, "medicine-delivery")
    w.p.store.update(qpk, qsk, add={"held": -1, "available": 1})
    for attempt in (1, 4):
        # The whole batch failed: Powertools raises, Lambda reports the batch failed, SQS retries it.
        with pytest.raises(BatchProcessingError):
            w.consume("QuotaDeductFunction", [msg], receive_count=attempt)
    assert w.drain("AlertQueue") == []
    with pytest.raises(BatchProcessingError):
        w.consume("QuotaDeductFunction", [msg], receive_count=5)
    alerts = w.drain("AlertQueue")
    assert any(aid in a["text"] and "/ops/quota/redrive" in a["text"] for a in alerts), alerts
    # SQS would now move it to the DLQ; put it there, repair the ledger, and re-run.
    w.sqs.send_message(QueueUrl=w.names["QuotaDLQ"], MessageBody=json.dumps(msg))
    w.p.store.update(qpk, qsk, add={"held": 1, "available": -1})
    status, out = w.call("QuotaRedriveFunction", ops=("ops",))
    assert status == 202 and out["moved"] == 1, out
    redriven = w.drain("QuotaQueue")
    assert redriven == [msg]
    assert w.consume("QuotaDeductFunction", redriven) == {"batchItemFailures": []}
    assert w.quota_of("medicine-delivery") == {"quota": 6, "used": 1, "held": 0, "available": 5}
    reset_settings()


def test_auto_receipt_schedule_fulfils_after_the_configured_days(world: World):
    w = world
    aid = book(w, online_body(), "auto-1")
    dispatched(w, aid)
    wo(w, "AcceptWorkOrderFunction", aid, w.clinic_a)
    wo(w, "ShipWorkOrderFunction", aid, w.clinic_a, {"carrier": "SF", "tracking_number": "SF0001"})
    job = handler_of("AutoReceiptFunction")
    assert job(events.schedule("AutoReceiptFunction"), None)["confirmed"] == 0
    w.clock.advance(days=7, minutes=1)  # AUTO_RECEIPT_DAYS defaults to 7
    assert job(events.schedule("AutoReceiptFunction"), None)["confirmed"] == 1
    _status, out = w.call("GetAppointmentFunction", path={"appointmentId": aid}, key=w.shop_a)
    assert out["status"] == "fulfilled" and out["receipt"] == "auto"
    assert len(w.drain("QuotaQueue")) == 1


# ---------------------------------------------------------------- the owner's view of a policy


def test_a_channel_lists_the_appointments_of_its_own_policy_page_by_page(world: World):
    w = world
    online = book(w, online_body(), "list-1")
    offline = book(w, offline_body(w), "list-2")
    status, first = w.call(
        "ListPolicyAppointmentsFunction", path={"number": w.number}, key=w.shop_a, query={"limit": "1"}
    )
    assert status == 200 and len(first["items"]) == 1 and first["cursor"]
    status, second = w.call(
        "ListPolicyAppointmentsFunction",
        path={"number": w.number},
        key=w.shop_a,
        query={"limit": "1", "cursor": first["cursor"]},
    )
    assert status == 200
    listed = first["items"] + second["items"]
    # gsi2 sorts by benefit: the annual check-up before the medicine delivery.
    assert [a["appointment_id"] for a in listed] == [offline, online]
    assert all(a["policy_number"] == w.number and a["decision"] is None for a in listed)

    status, out = w.call("ListPolicyAppointmentsFunction", path={"number": w.number}, key=w.shop_b)
    assert status == 404 and out["error"]["code"] == "POLICY_NOT_FOUND"
    status, out = w.call(
        "ListPolicyAppointmentsFunction", path={"number": w.number}, key=w.shop_a, query={"limit": "0"}
    )
    assert status == 400 and out["error"]["code"] == "VALIDATION_FAILED"
