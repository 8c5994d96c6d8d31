"""Risk rules and held bookings made over HTTP for e2e and browser tests on the local cloud.

The rule set is global: each test adds rules that match only its own made-up holder, insured or
device, on top of whatever is in force."""

from __future__ import annotations

import random
import uuid
from typing import Any

from tests.support.demo_booking import ADDRESS
from tests.support.waiting import wait_for


def publish(stack: Any, rules: list[dict[str, Any]]) -> int:
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


def phone() -> str:
    return f"139{random.randrange(10**8):08d}"


def underwrite(stack: Any, product: str, holder_phone: str) -> Any:
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
            "holder": {"name": "Han Meimei", "phone": holder_phone},
        },
    )


def held_booking(stack: Any, product: str, device: str) -> str:
    """A booking from ``device`` that a review rule on it holds: its appointment id once it is queued
    (containers read the rule set at most a few seconds old, so earlier bookings may go through)."""
    channel = stack.channel_client()
    service = stack.ops_client("service")

    def held() -> str | None:
        pol = underwrite(stack, product, phone())
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
        aid = str(booked.json["appointment_id"])
        queue = service.get("/ops/booking-reviews", query={"limit": "200"})
        assert queue.status == 200, queue.body
        return aid if aid in [i["appointment_id"] for i in queue.json["items"]] else None

    return str(wait_for(held, "a booking held by the review rule", timeout=120, every=2))
