"""Products made over HTTP for e2e tests on the local cloud."""

from __future__ import annotations

import uuid
from typing import Any


def make_product_without_waiting_period(stack: Any) -> str:
    from petcover.seed.products import PET_HEALTH

    code = f"e2e-health-{uuid.uuid4().hex[:6]}"
    spec = PET_HEALTH.model_dump(mode="json")
    spec["code"] = code
    spec["underwriting"]["waiting_period_days"] = 0
    for plan in spec["plans"]:
        for b in plan["benefits"]:
            b["waiting_period_days"] = 0
    uw = stack.ops_client("underwriter")
    assert uw.post("/ops/products", json=spec, idempotency_key=uuid.uuid4().hex).status == 201
    assert uw.post(f"/ops/products/{code}/publish", json={}).status == 200
    sales = stack.ops_client("sales")
    made = sales.post(
        "/ops/channels/demo-shop/contracts",
        idempotency_key=uuid.uuid4().hex,
        json={
            "product_code": code,
            "permissions": ["quote", "underwrite", "query", "claim", "book", "cancel"],
            "effective_from": "2026-01-01",
        },
    )
    assert made.status == 201, made.body
    return code
