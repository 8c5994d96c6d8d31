"""Booking on the demo stack's policy over HTTP (e2e and browser tests share the local cloud's demo data)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

ADDRESS = {
    "contact_name": "Li Lei",
    "phone": "13800000000",
    "line": "1 Century Ave",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}


def book_checkup(stack: Any, channel: Any) -> str:
    """An offline check-up on the demo policy, three days ahead; the one already booked when the
    demo pet has one open (earlier in this session, or a stack reused from an earlier run). When an
    earlier test used the demo check-up up, on a new policy with no waiting period."""
    booked = _book(channel, stack.demo["policy"])
    if _refusal(booked) == "QUOTA_EXHAUSTED":
        number, pet = policy_without_waiting(stack, channel)
        booked = _book(channel, {"number": number, "pet_id": pet})
    if _refusal(booked) == "DUPLICATE_BOOKING":
        return str(booked.json["error"]["details"]["appointment_id"])
    assert booked.status in (200, 201, 202), booked.body
    return str(booked.json["appointment_id"])


def _book(channel: Any, policy: dict[str, Any]) -> Any:
    when = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
    return channel.post(
        f"/policies/{policy['number']}/appointments",
        idempotency_key=uuid.uuid4().hex,
        json={
            "benefit_code": "annual-checkup",
            "pet": {"pet_id": policy["pet_id"], "name": "Bobo"},
            "address": ADDRESS,
            "preferred_time": when,
        },
    )


def _refusal(answer: Any) -> str | None:
    return str(answer.json["error"]["code"]) if answer.status >= 400 and "error" in (answer.json or {}) else None


def policy_without_waiting(stack: Any, channel: Any) -> tuple[str, str]:
    """A pet-health policy the demo shop sells now, of a product of its own with no waiting period (so
    its benefits can be booked at once); (number, pet id)."""
    from infra.credentials import ops_token
    from petcover.client import OpsClient
    from petcover.seed.products import PET_HEALTH

    code = f"q-health-{uuid.uuid4().hex[:6]}"
    spec = PET_HEALTH.model_dump(mode="json")
    spec["code"] = code
    spec["underwriting"]["waiting_period_days"] = 0
    for plan in spec["plans"]:
        for b in plan["benefits"]:
            b["waiting_period_days"] = 0
    uw = OpsClient(stack.base, ops_token(["underwriter"], "uw"), timeout=90)
    assert uw.post("/ops/products", json=spec, idempotency_key=uuid.uuid4().hex).status == 201
    assert uw.post(f"/ops/products/{code}/publish", json={}).status == 200
    contract = {"product_code": code, "permissions": ["underwrite", "query", "book"], "effective_from": "2026-01-01"}
    made = OpsClient(stack.base, ops_token(["sales"], "sales"), timeout=90).post(
        "/ops/channels/demo-shop/contracts", idempotency_key=uuid.uuid4().hex, json=contract
    )
    assert made.status == 201, made.body
    pet = f"pet-{uuid.uuid4().hex[:6]}"
    pol = channel.post(
        "/policies",
        idempotency_key=uuid.uuid4().hex,
        json={
            "product_code": code,
            "plan_code": "basic",
            "channel_order_id": f"q-{uuid.uuid4().hex[:8]}",
            "insured": {
                "insured_id": pet,
                "species": "cat",
                "breed_size": "small",
                "age_months": 24,
                "region": "310115",
            },
            "holder": {"name": "Han Meimei"},
        },
    )
    assert pol.status == 201, pol.body
    return pol.json["number"], pet
