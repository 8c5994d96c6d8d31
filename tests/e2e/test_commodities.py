"""Over HTTP against the local cloud: the commodity domain with data of its own.

Ops create a product whose medicine delivery covers medicines, a contract for the demo shop and a
commodity (its own SKU); the demo clinic publishes stock of it; the shop sells a policy and books
deliveries naming the item. Dispatch (DispatchQueue, run by the emulator) reserves the units; the
low-stock alert (AlertQueue, run by the emulator) reaches the clinic's chat group; the clinic ships
part of an order with a reason; a cancelled order's reservation comes back; the daily stock report,
a schedule, is fired by invoking its function as `make fire` does, for today.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
COLD_START = 180
ADDRESS = {
    "contact_name": "Li Lei",
    "phone": "13800000000",
    "line": "1 Century Ave",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}


def _clients(stack: Any) -> tuple[Any, Any, Any]:
    from infra.credentials import ops_token
    from petcover.client import OpsClient, PetcoverClient

    c, p = stack.demo["channel"], stack.demo["provider"]
    return (
        OpsClient(stack.base, ops_token(["admin"], "e2e"), timeout=COLD_START),
        PetcoverClient(stack.base, c["key_id"], c["secret"], timeout=COLD_START),
        PetcoverClient(stack.base, p["key_id"], p["secret"], timeout=COLD_START),
    )


def _routing(ops: Any, provider_id: str) -> None:
    """Medicine delivery in Shanghai to the demo clinic (the seed's rule, published again)."""
    head = ops.get("/ops/dispatch/rules").json["head_version"]
    share = {"provider_id": provider_id, "share_pct": 100, "weight": 5, "daily_capacity": 500, "scope": "regional"}
    rules = [{"region_code": "310000", "service_type": "medicine_delivery", "providers": [share]}]
    assert ops.put("/ops/dispatch/rules", json={"base_version": head, "rules": rules}).status in (200, 201)


def _product(ops: Any) -> str:
    from petcover.seed.products import PET_HEALTH

    code = f"e2e-meds-{uuid.uuid4().hex[:6]}"
    spec = PET_HEALTH.model_dump(mode="json")
    spec.update(code=code, name="E2E Meds Cover")
    spec["underwriting"].update(waiting_period_days=0, max_active_policies_per_insured=None)
    for plan in spec["plans"]:
        for b in plan["benefits"]:
            b["waiting_period_days"] = 0
            if b["code"] == "medicine-delivery":
                b.update(commodity_categories=["medicine"], item_allowance=4)
    assert ops.post("/ops/products", json=spec, idempotency_key=uuid.uuid4().hex).status == 201
    assert ops.post(f"/ops/products/{code}/publish", json={}).status == 200
    contract = {
        "product_code": code,
        "permissions": ["quote", "underwrite", "query", "cancel", "book"],
        "effective_from": "2026-01-01",
    }
    r = ops.post("/ops/channels/demo-shop/contracts", idempotency_key=uuid.uuid4().hex, json=contract)
    assert r.status == 201, r.body
    return code


def _commodity(ops: Any, sku: str, category: str = "medicine") -> None:
    spec = {
        "sku": sku,
        "name": f"E2E {sku}",
        "category": category,
        "specification": "10 mg x 30 tablets",
        "unit": "box",
        "list_price": "42.50",
    }
    r = ops.put(f"/ops/commodities/{sku}", json=spec, idempotency_key=uuid.uuid4().hex)
    assert r.status == 200 and r.json["head"]["status"] == "draft", r.body
    r = ops.post(f"/ops/commodities/{sku}/status", json={"status": "published", "reason": "e2e: on sale"})
    assert r.status == 200 and r.json["head"]["status"] == "published", r.body


def _policy(channel: Any, code: str) -> tuple[str, str]:
    pet = f"e2e-pet-{uuid.uuid4().hex[:8]}"
    body = {
        "product_code": code,
        "plan_code": "basic",
        "channel_order_id": f"e2e-{uuid.uuid4().hex}",
        "insured": {"insured_id": pet, "species": "dog", "breed_size": "small", "age_months": 24, "region": "310115"},
        "holder": {"name": "Li Lei"},
    }
    r = channel.post("/policies", json=body, idempotency_key=uuid.uuid4().hex)
    assert r.status == 201, r.body
    return r.json["number"], pet


def _book(channel: Any, number: str, pet: str, items: list[dict[str, Any]]) -> Any:
    body = {
        "benefit_code": "medicine-delivery",
        "pet": {"pet_id": pet, "name": "Bobo"},
        "address": ADDRESS,
        "items": items,
    }
    return channel.post(f"/policies/{number}/appointments", json=body, idempotency_key=uuid.uuid4().hex)


def _stock(clinic: Any, sku: str) -> dict[str, Any]:
    rows = clinic.get("/partner/stock", query={"region": "310000", "limit": "200"}).json["items"]
    return next(r for r in rows if r["sku"] == sku)


def test_orders_name_their_items_and_stock_follows_them(stack, restore_dispatch_rules):
    ops, channel, clinic = _clients(stack)
    clinic_id = stack.demo["provider"]["id"]
    _routing(ops, clinic_id)
    code = _product(ops)
    sku, supply = f"E2E-{uuid.uuid4().hex[:6].upper()}", f"E2ES-{uuid.uuid4().hex[:6].upper()}"
    _commodity(ops, sku)
    _commodity(ops, supply, category="supply")

    rows = {"items": [{"sku": sku, "region": "310000", "on_hand": 3, "low_threshold": 2}], "reason": "e2e count"}
    r = clinic.put("/partner/stock", json=rows, idempotency_key=uuid.uuid4().hex)
    assert r.status == 200 and r.json["updated"] == 1, r.body

    number, pet = _policy(channel, code)
    refused = _book(channel, number, pet, [{"sku": supply, "quantity": 1}])
    assert refused.status == 422 and refused.json["error"]["code"] == "ITEM_NOT_COVERED", refused.body
    refused = _book(channel, number, pet, [{"sku": sku, "quantity": 5}])
    assert refused.status == 422 and refused.json["error"]["code"] == "ALLOWANCE_EXCEEDED", refused.body

    booked = _book(channel, number, pet, [{"sku": sku, "quantity": 2}])
    assert booked.status == 201, booked.body
    appt = booked.json["appointment_id"]
    order = wait_for(lambda: (w := clinic.get(f"/work-orders/{appt}")).status == 200 and w.json, "the dispatched order")
    assert [(i["sku"], i["quantity"], i["unit_price"]) for i in order["items"]] == [(sku, 2, "42.50")]
    assert {k: _stock(clinic, sku)[k] for k in ("on_hand", "reserved", "available")} == {
        "on_hand": 3,
        "reserved": 2,
        "available": 1,
    }

    def low_stock_alert() -> list[str]:
        said = [json.loads(r["body"])["text"] for r in stack.cloud.sink_requests() if r["path"] == "/chat/demo-clinic"]
        return [t for t in said if sku in t]

    (said,) = wait_for(low_stock_alert, "the low-stock alert in the clinic's chat group")
    assert "库存不足" in said

    assert clinic.post(f"/work-orders/{appt}/accept").status == 200
    ship = {"carrier": "SF", "tracking_number": "SF7654321", "items": [{"sku": sku, "quantity": 1}]}
    r = clinic.post(f"/work-orders/{appt}/ship", json=ship)
    assert r.status == 400 and r.json["error"]["code"] == "PARTIAL_REASON_REQUIRED", r.body
    r = clinic.post(f"/work-orders/{appt}/ship", json={**ship, "partial_reason": "one box damaged in storage"})
    assert r.status == 200, r.body
    assert r.json["shipment"]["items"] == {sku: 1} and r.json["shipment"]["fee"] == "42.50"
    after_ship = _stock(clinic, sku)
    assert (after_ship["on_hand"], after_ship["reserved"], after_ship["available"]) == (2, 0, 2)

    # a second order reserves; cancelling it gives the units back, once
    other, other_pet = _policy(channel, code)
    second = _book(channel, other, other_pet, [{"sku": sku, "quantity": 2}])
    assert second.status == 201, second.body
    appt2 = second.json["appointment_id"]
    wait_for(lambda: clinic.get(f"/work-orders/{appt2}").status == 200, "the second dispatched order")
    assert _stock(clinic, sku)["available"] == 0
    why = {"reason": "the owner found it at home"}
    cancelled = channel.post(f"/appointments/{appt2}/cancel", json=why, idempotency_key=uuid.uuid4().hex)
    assert cancelled.status == 200, cancelled.body
    again = channel.post(f"/appointments/{appt2}/cancel", json=why, idempotency_key=uuid.uuid4().hex)
    assert again.status == 409, again.body  # already cancelled: nothing moves twice
    back = _stock(clinic, sku)
    assert (back["on_hand"], back["reserved"], back["available"]) == (2, 0, 2)

    # the daily stock report, for today (a back-fill names the day), then read through the report API
    from petcover.domain import calendar

    today = calendar.day_of(datetime.now(UTC)).isoformat()
    done = stack.cloud.invoke("StockDailyReportFunction", {"date": today})
    assert done["day"] == today and done["shipped"] >= 1, done
    csv_file = ops.get(f"/ops/sla/reports/stock/{today}/csv")
    assert csv_file.status == 200, csv_file.body
    (line,) = [x for x in csv_file.json["text"].splitlines() if x.startswith(f"310000,{sku},")]
    assert line.split(",")[3:] == [clinic_id, "2", "0", "2", "2", "false", "1", "4", "2"]
    png = ops.get(f"/ops/sla/reports/stock/{today}/png")
    assert png.status == 200 and png.json["base64"], png.body
