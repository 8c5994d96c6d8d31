"""Over HTTP against the local cloud: the operations the staff console reads and drives.

A policy sold and an order booked through the channel API reach the overview's counters and the
work-order list; a policy is found by number and its page shows the booking; an e-policy is
generated, mailed to the local sink and verified by its public code; an invoice is recorded.
Every object is created here (fresh ids), and counts are compared before and after.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.request
import uuid
from typing import Any

import pytest

from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
COLD_START = 180  # a function's first call unpacks the layer on the emulator
ADDRESS = {
    "contact_name": "Li Lei",
    "phone": "13800000000",
    "line": "1 Century Ave",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}


def _ops(stack: Any, *roles: str) -> Any:
    from infra.credentials import ops_token
    from petcover.client import OpsClient

    return OpsClient(stack.base, ops_token(list(roles), "e2e-console"), timeout=COLD_START)


def _channel(stack: Any) -> Any:
    from petcover.client import PetcoverClient

    c = stack.demo["channel"]
    return PetcoverClient(stack.base, c["key_id"], c["secret"], timeout=COLD_START)


def _past_policy(stack: Any) -> tuple[str, str]:
    """(number, pet) of a policy past its waiting period, sold the seed's way on the stack's table."""
    from infra import seed
    from petcover.services import demo as demo_data

    pet = f"console-pet-{uuid.uuid4().hex[:8]}"
    return demo_data.sell_past_policy(seed._ports(stack.cloud), order=f"console-{pet}", pet=pet).number, pet


def _today(stack: Any) -> dict[str, Any]:
    answer = _ops(stack, "ops").get("/ops/overview")
    assert answer.status == 200, answer.body
    return dict(answer.json)


def test_a_sale_and_a_booking_reach_the_overview_and_the_work_orders(stack):
    before = _today(stack)
    assert len(before["series"]) == 30 and len(before["dead_letters"]) == 8
    assert all(isinstance(d["depth"], int) for d in before["dead_letters"]), before["dead_letters"]
    channel = _channel(stack)
    order = f"console-{uuid.uuid4().hex[:10]}"
    sold = channel.post(
        "/policies",
        idempotency_key=uuid.uuid4().hex,
        json={
            "product_code": "pet-health",
            "plan_code": "basic",
            "insured": {
                "insured_id": order,
                "species": "dog",
                "breed_size": "small",
                "age_months": 20,
                "region": "310115",
            },
            "channel_order_id": order,
            "holder": {"name": "Han Meimei"},
        },
    )
    assert sold.status == 201, sold.body
    number, pet = _past_policy(stack)
    booked = channel.post(
        f"/policies/{number}/appointments",
        idempotency_key=uuid.uuid4().hex,
        json={"benefit_code": "medicine-delivery", "pet": {"pet_id": pet, "name": "Bobo"}, "address": ADDRESS},
    )
    assert booked.status == 201, booked.body
    appt = booked.json["appointment_id"]
    after = _today(stack)
    assert after["today"]["policies_issued"] >= before["today"]["policies_issued"] + 1
    assert after["today"]["bookings"] >= before["today"]["bookings"] + 1
    assert after["this_month"]["premium"] >= before["this_month"]["premium"]

    ops = _ops(stack, "ops")
    provider = stack.demo["provider"]["id"]

    def listed() -> dict[str, Any] | None:
        page = ops.get("/ops/work-orders", query={"provider_id": provider, "limit": "200"}).json or {}
        return next((w for w in page.get("items", []) if w["order_id"] == appt), None)

    wo = wait_for(listed, "the dispatched order in the work-order list")
    assert wo["node"] == "assigned" and wo["open"] and wo["console_path"] == f"/console/work-orders/{appt}"
    page = ops.get(f"/ops/work-orders/{appt}")
    assert page.status == 200, page.body
    assert page.json["appointment"]["policy_number"] == number and page.json["steps"][0]["node"] == "assigned"
    assert "explain_dispatch" in [a["action"] for a in page.json["actions"]]
    assert ops.get("/ops/work-orders/WO-none").status == 404
    assert _ops(stack, "finance").get("/ops/work-orders").status == 403


def test_policy_lookup_page_and_service_requests_end_to_end(stack):
    number, pet = _past_policy(stack)
    service, underwriter, finance = _ops(stack, "service"), _ops(stack, "underwriter"), _ops(stack, "finance")
    found = service.get("/ops/policies", query={"number": number})
    assert found.status == 200 and [p["number"] for p in found.json["items"]] == [number]
    page = service.get(f"/ops/policies/{number}/page")
    assert page.status == 200, page.body
    assert page.json["policy"]["number"] == number and [e["event"] for e in page.json["ledger"]] == ["issue"]

    email = f"{pet}@example.com"
    created = service.post(
        "/ops/service-requests",
        idempotency_key=uuid.uuid4().hex,
        json={"policy_number": number, "kind": "e_policy", "email": email},
    )
    assert created.status == 201 and created.json["queue"] == "underwriting", created.body
    rid = created.json["request_id"]
    queue = underwriter.get("/ops/service-requests", query={"queue": "underwriting", "limit": "200"})
    assert rid in [r["request_id"] for r in queue.json["items"]]
    assert finance.post(f"/ops/service-requests/{rid}/e-policy").status == 403
    sent = underwriter.post(f"/ops/service-requests/{rid}/e-policy")
    assert sent.status == 200 and sent.json["status"] == "sent", sent.body
    code = sent.json["e_policy"]["code"]

    def mailed() -> dict[str, Any] | None:
        mails = [json.loads(r["body"]) for r in stack.cloud.sink_requests() if r["path"] == "/mail"]
        return next((m for m in mails if m["to"] == email), None)

    mail = wait_for(mailed, "the e-policy mail at the sink")
    pdf = base64.b64decode(mail["attachment"]["base64"])
    assert pdf.startswith(b"%PDF") and code in mail["text"] and mail["subject"].endswith(number)
    # the public check needs no credentials
    with urllib.request.urlopen(f"{stack.base}/e-policies/{code}", timeout=COLD_START) as answer:
        check = json.loads(answer.read())
    assert check["policy_number"] == number and check["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert underwriter.post(f"/ops/service-requests/{rid}/e-policy").status == 409  # sent is final

    invoice = service.post(
        "/ops/service-requests",
        idempotency_key=uuid.uuid4().hex,
        json={"policy_number": number, "kind": "invoice", "postal_address": "1 Century Ave, Shanghai"},
    )
    assert invoice.status == 201 and invoice.json["queue"] == "finance"
    inv_no = f"INV-{uuid.uuid4().hex[:10].upper()}"
    record = {"number": inv_no, "amount": "1.00", "issued_on": "2026-11-22", "sent_by": "post"}
    done = finance.post(f"/ops/service-requests/{invoice.json['request_id']}/invoice", json=record)
    assert done.status == 200 and done.json["status"] == "sent", done.body
    again = service.post(
        "/ops/service-requests",
        idempotency_key=uuid.uuid4().hex,
        json={"policy_number": number, "kind": "invoice", "postal_address": "1 Century Ave, Shanghai"},
    ).json["request_id"]
    taken = finance.post(f"/ops/service-requests/{again}/invoice", json=record)
    assert taken.status == 409 and taken.json["error"]["code"] == "INVOICE_NUMBER_TAKEN"
    history = service.get("/ops/service-requests", query={"policy_number": number})
    assert {r["status"] for r in history.json["items"]} == {"sent", "open"}
