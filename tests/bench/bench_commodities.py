"""Booking -> dispatched through the local cloud, with item checks (a medicine delivery naming its SKUs:
coverage and catalogue checks at booking, the stock filter and the reservation at dispatch) against
the same without items, in one run and interleaved so both see the same machine. Plus the store calls
of one dispatch of each kind, counted in-process.

    python -m tests.bench.bench_commodities [--n 60]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import datetime
from typing import Any

from tests.bench.common import local_cloud, summary_ms, table, write

SKUS = ("BENCH-AMOX", "BENCH-VITA")


def _product(ops: Any, items: bool) -> str:
    from petcover.seed.products import PET_HEALTH

    code = f"bench-{'meds' if items else 'plain'}-{uuid.uuid4().hex[:6]}"
    spec = PET_HEALTH.model_dump(mode="json")
    spec["code"] = code
    spec["underwriting"].update(waiting_period_days=0, max_active_policies_per_insured=None)
    for plan in spec["plans"]:
        for b in plan["benefits"]:
            b["waiting_period_days"] = 0
            if items and b["code"] == "medicine-delivery":
                b.update(commodity_categories=["medicine", "supplement"], item_allowance=100)
    assert ops.post("/ops/products", json=spec, idempotency_key=uuid.uuid4().hex).status == 201
    assert ops.post(f"/ops/products/{code}/publish", json={}).status == 200
    contract = {
        "product_code": code,
        "permissions": ["quote", "underwrite", "query", "book"],
        "effective_from": "2026-01-01",
    }
    r = ops.post("/ops/channels/demo-shop/contracts", idempotency_key=uuid.uuid4().hex, json=contract)
    assert r.status == 201, r.body
    return code


def _catalogue(ops: Any, clinic: Any) -> None:
    for sku, category in zip(SKUS, ("medicine", "supplement"), strict=True):
        spec = {
            "sku": sku,
            "name": sku,
            "category": category,
            "specification": "x 30",
            "unit": "box",
            "list_price": "20.00",
        }
        assert ops.put(f"/ops/commodities/{sku}", json=spec, idempotency_key=uuid.uuid4().hex).status == 200
        assert ops.post(f"/ops/commodities/{sku}/status", json={"status": "published", "reason": "bench"}).status == 200
    rows = [{"sku": s, "region": "310000", "on_hand": 100_000, "low_threshold": 0} for s in SKUS]
    r = clinic.put("/partner/stock", json={"items": rows}, idempotency_key=uuid.uuid4().hex)
    assert r.status == 200 and r.json["updated"] == len(SKUS), r.body


def _policies(p: Any, code: str, n: int) -> list[tuple[str, str]]:
    from petcover.identity import Principal
    from petcover.models.policies import UnderwriteRequest
    from petcover.services import policies

    out = []
    for i in range(n):
        pet = f"bench-pet-{i}-{uuid.uuid4().hex[:6]}"
        req = UnderwriteRequest.model_validate(
            {
                "product_code": code,
                "plan_code": "basic",
                "channel_order_id": f"bench-{uuid.uuid4().hex}",
                "insured": {
                    "insured_id": pet,
                    "species": "dog",
                    "breed_size": "small",
                    "age_months": 24,
                    "region": "310115",
                },
                "holder": {"name": "Bench"},
            }
        )
        out.append((policies.underwrite(p, Principal("channel", "demo-shop"), req).number, pet))
    return out


def _one(client: Any, number: str, pet: str, items: bool) -> float:
    body: dict[str, Any] = {
        "benefit_code": "medicine-delivery",
        "pet": {"pet_id": pet, "name": "Bench"},
        "address": {
            "contact_name": "Bench",
            "phone": "13800000000",
            "line": "1 Century Ave",
            "province": "310000",
            "city": "310100",
            "district": "310115",
        },
    }
    if items:
        body["items"] = [{"sku": SKUS[0], "quantity": 2}, {"sku": SKUS[1], "quantity": 1}]
    r = client.post(f"/policies/{number}/appointments", json=body, idempotency_key=uuid.uuid4().hex)
    assert r.status == 201, r.body
    appt = r.json["appointment_id"]
    deadline = time.time() + 120
    while time.time() < deadline:
        got = client.get(f"/appointments/{appt}").json
        steps = [s for s in got.get("steps", []) if s["action"] == "assign"]
        if got.get("provider_id") and steps:
            return (
                datetime.fromisoformat(steps[0]["at"]) - datetime.fromisoformat(got["created_at"])
            ).total_seconds() * 1000
        time.sleep(0.02)
    raise AssertionError(f"{appt} was not dispatched within 120 s")


def store_calls() -> dict[str, float]:
    """Store calls of one dispatch (the consumer's work) with and without items, in memory."""
    from petcover import authentication, runtime
    from petcover.messaging import MemoryPublisher
    from petcover.ports import Ports
    from petcover.services import catalog
    from petcover.services.dispatch import assignment
    from petcover.services.fulfilment import booking
    from petcover.storage.memory import MemoryBlobs, MemorySecretBox, MemoryStore
    from tests.support.bookings import SHOP, online
    from tests.support.goods import add_commodity, meds_policy, meds_world, order, put_stock
    from tests.support.policies import issue_policy

    authentication.clear_cache()
    catalog.clear_caches()  # product heads cached by an earlier world in this process
    p = Ports(store=MemoryStore(), publisher=MemoryPublisher(), blobs=MemoryBlobs(), secrets=MemorySecretBox())
    runtime.install(p)
    world = meds_world(p, pharmacies=2)
    for sku in SKUS:
        add_commodity(p, sku, category="medicine")
        for pid in world.pharmacies:
            put_stock(p, pid, sku, 1000, threshold=0)
    n = 20
    out: dict[str, float] = {}
    for label in ("without items", "with 2 items"):
        total = 0
        for i in range(n):
            if label == "without items":  # pet-health: its medicine delivery names no commodities
                pet = f"plain-{i}"
                number, req = issue_policy(p, world.clock, order=f"o-plain-{i}", pet=pet), online(pet)
            else:
                number, pet = meds_policy(p, world.clock)
                req = order(pet, (SKUS[0], 2), (SKUS[1], 1))
            aid = booking.book_appointment(p, SHOP, number, req).appointment_id
            msg = booking.dispatch_message(booking.records.find_appointment(p, aid))  # type: ignore[arg-type]
            before = sum(p.store.calls.values())  # type: ignore[attr-defined]
            assignment.dispatch_one(p, msg)
            total += sum(p.store.calls.values()) - before  # type: ignore[attr-defined]
        out[label] = total / n
    runtime.install(None)
    authentication.clear_cache()
    catalog.clear_caches()  # the in-memory world's products must not leak into the local cloud's seed
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60)
    args = ap.parse_args(argv)
    calls = store_calls()  # in-process, before the local cloud: nothing of the cloud run is cached yet
    with local_cloud() as (cloud, demo):
        from infra import seed
        from infra.credentials import ops_token
        from petcover.client import OpsClient, PetcoverClient

        ops = OpsClient(cloud.api_base, ops_token(["admin"]), timeout=60)
        ch, pv = demo["channel"], demo["provider"]
        client = PetcoverClient(cloud.api_base, ch["key_id"], ch["secret"], timeout=60)
        clinic = PetcoverClient(cloud.api_base, pv["key_id"], pv["secret"], timeout=60)
        plain, meds = _product(ops, False), _product(ops, True)
        _catalogue(ops, clinic)
        p = seed._ports(cloud)
        warm = 5  # cold starts of the booking and dispatch functions are not part of the figure
        plain_pols, meds_pols = _policies(p, plain, warm + args.n), _policies(p, meds, warm + args.n)
        for i in range(warm):
            _one(client, *plain_pols[i], items=False)
            _one(client, *meds_pols[i], items=True)
        without, with_items = [], []
        for i in range(warm, warm + args.n):  # interleaved: both kinds see the same machine
            without.append(_one(client, *plain_pols[i], items=False))
            with_items.append(_one(client, *meds_pols[i], items=True))
    a, b = summary_ms(without), summary_ms(with_items)
    body = table(
        ["booking -> dispatched", "n", "p50 ms", "p95 ms", "p99 ms"],
        [
            ["medicine delivery without items", a["n"], a["p50"], a["p95"], a["p99"]],
            ["with 2 items (coverage, catalogue, stock filter, reservation)", b["n"], b["p50"], b["p95"], b["p99"]],
        ],
    )
    body += (
        f"\n\nWith item checks / without: p50 **{b['p50'] / a['p50']:.2f}x**, p95 {b['p95'] / a['p95']:.2f}x "
        f"(same run, interleaved). Store calls per dispatch (in-process): "
        f"{calls['without items']:.1f} without items, {calls['with 2 items']:.1f} with 2 items "
        "(one stock index query per SKU, the reservation transaction, the low-stock re-read per SKU, "
        "and the query for leftover reservations)."
    )
    write("commodities", "Booking to dispatch with item checks, against without", body, "make bench")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
