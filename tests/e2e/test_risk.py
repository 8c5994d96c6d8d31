"""e2e: risk control over HTTP on the local cloud. The rule set is global, so each test adds rules
that match only its own made-up holder or device, on top of whatever is in force."""

from __future__ import annotations

import random
import uuid
from typing import Any

from tests.support.products import make_product_without_waiting_period
from tests.support.waiting import wait_for

ADDRESS = {
    "contact_name": "Han Meimei",
    "phone": "13800000000",
    "line": "1 Century Ave",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}


def _publish(stack: Any, rules: list[dict[str, Any]]) -> int:
    """Adds ``rules`` to the set in force as its next version (another publisher first: read again)."""
    uw = stack.ops_client("underwriter")
    for _ in range(5):
        now = uw.get("/ops/risk/rules")
        assert now.status == 200, now.body
        ours = {r["id"] for r in rules}
        kept = [r for r in now.json["rules"] if r["id"] not in ours]
        put = uw.put("/ops/risk/rules", json={"version": now.json["version"] + 1, "rules": kept + rules, "note": "e2e"})
        if put.status == 200:
            return int(put.json["version"])
        assert put.json["error"]["code"] == "RULES_VERSION_CONFLICT", put.body
    raise AssertionError("the rule set kept changing")


def _underwrite(stack: Any, product: str, phone: str) -> Any:
    return stack.channel_client().post(
        "/policies",
        idempotency_key=uuid.uuid4().hex,
        json={
            "product_code": product,
            "plan_code": "basic",
            "channel_order_id": f"risk-{uuid.uuid4().hex[:10]}",
            "insured": {
                "insured_id": f"pet-{uuid.uuid4().hex[:6]}",
                "species": "cat",
                "breed_size": "small",
                "age_months": 24,
                "region": "310115",
            },
            "holder": {"name": "Han Meimei", "phone": phone},
        },
    )


def _phone() -> str:
    return f"139{random.randrange(10**8):08d}"


def test_a_blocked_holder_is_refused_without_naming_the_rule_and_others_pass(stack):
    product = make_product_without_waiting_period(stack)
    blocked = _phone()
    _publish(
        stack,
        [
            {
                "id": f"e2e-block-{blocked}",
                "kind": "blocklist",
                "stages": ["underwrite"],
                "field": "holder",
                "values": [blocked],
            }
        ],
    )
    # Containers read the rule set at most five seconds old: poll until it is in force.
    refused = wait_for(
        lambda: (r := _underwrite(stack, product, blocked)).status == 422 and r, "the blocklist in force", timeout=120
    )
    assert refused.json["error"]["code"] == "RISK_REFUSED"
    assert "e2e-block" not in refused.body.decode()
    fine = _underwrite(stack, product, _phone())
    assert fine.status == 201, fine.body
    assert fine.json["risk"]["outcome"] == "pass"


def test_a_booking_from_a_watched_device_waits_for_staff_then_dispatches(stack):
    product = make_product_without_waiting_period(stack)
    tag = uuid.uuid4().hex[:8]
    device = f"DEV-{tag}"
    rule = {
        "id": f"e2e-watch-{tag}",
        "kind": "blocklist",
        "stages": ["booking"],
        "field": "device",
        "values": [device],
        "action": "review",
    }
    _publish(stack, [rule])
    channel = stack.channel_client()
    service = stack.ops_client("service")

    def held() -> Any:
        pol = _underwrite(stack, product, _phone())
        assert pol.status == 201, pol.body
        body = {
            "benefit_code": "medicine-delivery",
            "pet": {"pet_id": pol.json["insured"]["insured_id"], "name": "Mimi", "species": "cat"},
            "address": ADDRESS,
            "device_id": device,
        }
        booked = channel.post(
            f"/policies/{pol.json['number']}/appointments", idempotency_key=uuid.uuid4().hex, json=body
        )
        assert booked.status == 201, booked.body
        aid = booked.json["appointment_id"]
        queue = service.get("/ops/booking-reviews", query={"limit": "100"})
        assert queue.status == 200, queue.body
        return aid if aid in [i["appointment_id"] for i in queue.json["items"]] else None

    aid = wait_for(held, "a booking held by the review rule", timeout=120, every=2)
    assert stack.ops_client("ops").get(f"/ops/appointments/{aid}/dispatch").json.get("decision") is None
    decided = service.post(
        f"/ops/booking-reviews/{aid}/decision", json={"outcome": "approve", "note": "known customer"}
    )
    assert decided.status == 200, decided.body
    ops = stack.ops_client("ops")
    wait_for(
        lambda: (r := ops.get(f"/ops/appointments/{aid}/dispatch")).status == 200 and (r.json.get("decision") or None),
        "the approved booking's dispatch decision",
    )
    again = service.post(f"/ops/booking-reviews/{aid}/decision", json={"outcome": "reject", "note": "twice"})
    assert again.status == 409 and again.json["error"]["code"] == "NOT_IN_REVIEW"
