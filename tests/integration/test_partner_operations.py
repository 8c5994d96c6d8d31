"""Suspend, resume and close a provider, and a provider declining an order, through the routed
handlers in-process against moto: signed calls, the DispatchQueue and its consumer, ops roles."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import boto3

from petcover import authentication, runtime, tokens
from petcover.services import credentials
from petcover.services.dispatch import assignment as dispatch
from tests.support import events
from tests.support.calls import OPS_SECRET, handler_of, sign
from tests.support.clock import Clock
from tests.support.dispatch import publish, rule
from tests.support.fixtures import catalogue
from tests.support.policies import issue_policy
from tests.support.providers import onboard_provider

ADDRESS = {
    "contact_name": "Li Lei",
    "phone": "+86 138 0000 0000",
    "line": "Room 1, 100 Century Avenue",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}


def call(
    function: str,
    *,
    path: dict[str, str] | None = None,
    body: Any = None,
    key: tuple[str, str] | None = None,
    ops: tuple[str, ...] | None = None,
    idem: str | None = None,
) -> tuple[int, Any]:
    headers: dict[str, str] = {"Idempotency-Key": idem} if idem else {}
    if ops is not None:
        headers["Authorization"] = f"Bearer {tokens.mint(OPS_SECRET, 'alice', list(ops), now=int(time.time()))}"
    ev = events.api(function, path_params=path, body=body, headers=headers)
    if key is not None:
        sign(ev, *key)
    resp = handler_of(function)(ev, None)
    return resp["statusCode"], json.loads(resp["body"] or "null")


def drain(names: dict[str, str], queue: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    out: list[dict[str, Any]] = []
    while msgs := sqs.receive_message(QueueUrl=names[queue], MaxNumberOfMessages=10).get("Messages"):
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=names[queue], ReceiptHandle=m["ReceiptHandle"])
    return out


def consume_dispatch(names: dict[str, str]) -> list[dict[str, Any]]:
    msgs = drain(names, "DispatchQueue")
    out = handler_of("DispatchConsumeFunction")(events.sqs("DispatchConsumeFunction", msgs), None)
    assert out == {"batchItemFailures": []}, out
    return msgs


def test_decline_redispatch_suspend_resume_and_close_over_the_api(aws):
    p = runtime.ports()
    clock = Clock()
    now = clock.now
    clock.now = now - timedelta(days=60)
    p.clock = clock
    keys_by_channel = catalogue(p, ("shop-a",))
    clock.now = now
    dispatch.clear_caches()
    a, b = onboard_provider(p, "Clinic A"), onboard_provider(p, "Clinic B")
    key_a = (lambda k: (k.key_id, k.secret))(credentials.issue(p, "provider", a))
    key_b = (lambda k: (k.key_id, k.secret))(credentials.issue(p, "provider", b))
    publish(p, rule({a: 100, b: 0}))
    number = issue_policy(p, clock, order="o-1", pet="pet-1")
    booking = {
        "benefit_code": "annual-checkup",
        "pet": {"pet_id": "pet-1", "name": "Bobo"},
        "address": ADDRESS,
        "preferred_time": (clock.now + timedelta(days=2)).isoformat(),
    }
    status, booked = call(
        "BookAppointmentFunction", path={"number": number}, body=booking, key=keys_by_channel["shop-a"], idem="b-1"
    )
    assert status == 201, booked
    aid = booked["appointment_id"]
    consume_dispatch(aws)
    assert call("GetWorkOrderFunction", path={"appointmentId": aid}, key=key_a)[0] == 200

    # clinic A declines: a reason is required, nobody else can decline it, and dispatch runs again without A
    status, err = call("DeclineWorkOrderFunction", path={"appointmentId": aid}, body={}, key=key_a)
    assert status == 400 and err["error"]["code"] == "VALIDATION_FAILED"
    status, err = call("DeclineWorkOrderFunction", path={"appointmentId": aid}, body={"reason": "x"}, key=key_b)
    assert status == 404 and err["error"]["code"] == "WORK_ORDER_NOT_FOUND"
    status, out = call("DeclineWorkOrderFunction", path={"appointmentId": aid}, body={"reason": "no vet"}, key=key_a)
    assert status == 200 and out["redispatch"] is True, out
    (again,) = consume_dispatch(aws)
    assert again["round"] == 1 and again["declined"] == {a: "no vet"}
    assert call("GetWorkOrderFunction", path={"appointmentId": aid}, key=key_a)[0] == 404
    status, wo = call("GetWorkOrderFunction", path={"appointmentId": aid}, key=key_b)
    assert status == 200 and wo["status"] == "booking"
    status, why = call("DispatchExplainFunction", path={"appointmentId": aid}, ops=("ops",))
    assert why["decision"]["provider_id"] == b and why["decision"]["excluded"][a] == "declined the order: no vet"

    # ops suspend clinic B: a reason and the ops role are required; its calls are refused; its order is listed
    path = {"partnerId": b}
    assert call("SuspendPartnerFunction", path=path, body={}, ops=("ops",))[0] == 400
    status, err = call("SuspendPartnerFunction", path=path, body={"reason": "audit"}, ops=("sales",))
    assert status == 403 and err["error"]["code"] == "ROLE_REQUIRED"
    status, out = call("SuspendPartnerFunction", path=path, body={"reason": "licence expired"}, ops=("ops",))
    assert status == 200 and out["account"]["status"] == "suspended", out
    assert [(o["appointment_id"], o["reassignable"]) for o in out["open_orders"]] == [(aid, True)]
    authentication.clear_cache()
    status, err = call("ListWorkOrdersFunction", key=key_b)
    assert status == 403 and err["error"]["code"] == "PARTNER_INACTIVE"
    status, listed = call("PartnerOpenOrdersFunction", path=path, ops=("ops",))
    assert status == 200 and [o["appointment_id"] for o in listed["items"]] == [aid]
    status, trail = call("AuditByEntityFunction", path={"entityType": "partner", "entityId": b}, ops=("ops",))
    assert any(r["action"] == "suspend" and r["reason"] == "licence expired" for r in trail["items"]), trail
    status, err = call("SuspendPartnerFunction", path=path, body={"reason": "again"}, ops=("ops",))
    assert status == 409 and err["error"]["code"] == "ILLEGAL_TRANSITION"

    # resumed, then closed for good
    status, out = call("ResumePartnerFunction", path=path, body={"reason": "licence renewed"}, ops=("ops",))
    assert status == 200 and out["account"]["status"] == "active"
    status, out = call("ClosePartnerFunction", path=path, body={"reason": "agreement ended"}, ops=("ops",))
    assert status == 200 and out["account"]["status"] == "closed"
    status, err = call("ResumePartnerFunction", path=path, body={"reason": "oops"}, ops=("ops",))
    assert status == 409 and "closed" in err["error"]["message"]
    assert call("SuspendPartnerFunction", path={"partnerId": "prv_none"}, body={"reason": "x"}, ops=("ops",))[0] == 404
