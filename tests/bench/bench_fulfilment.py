"""Fulfilment figures through the local cloud: booking -> dispatched latency (p50/p95), and the time
to fan out and dispatch a 1,000 and a 10,000 order batch (they should scale linearly).

    python -m tests.bench.bench_fulfilment [--big 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from tests.bench.common import local_cloud, summary_ms, table, write

BATCH = 800  # items per batch request: 1,000 of these bookings would pass the 256 KB body limit
REGION = {"province": "310000", "city": "310100", "district": "310115"}


def _ports(cloud: Any) -> Any:
    from infra import seed

    return seed._ports(cloud)


def _product(stack_ops: Any, sales: Any) -> str:
    from petcover.seed.products import PET_HEALTH

    code = f"bench-health-{uuid.uuid4().hex[:6]}"
    spec = PET_HEALTH.model_dump(mode="json")
    spec["code"] = code
    spec["underwriting"]["waiting_period_days"] = 0
    spec["underwriting"]["max_active_policies_per_insured"] = None
    for plan in spec["plans"]:
        for b in plan["benefits"]:
            b["waiting_period_days"] = 0
    assert stack_ops.post("/ops/products", json=spec, idempotency_key=uuid.uuid4().hex).status == 201
    assert stack_ops.post(f"/ops/products/{code}/publish", json={}).status == 200
    r = sales.post(
        "/ops/channels/demo-shop/contracts",
        idempotency_key=uuid.uuid4().hex,
        json={
            "product_code": code,
            "permissions": ["quote", "underwrite", "query", "book"],
            "effective_from": "2026-01-01",
        },
    )
    assert r.status == 201, r.body
    sales.patch("/ops/channels/demo-shop", json={"rate_limit": 2000})
    return code


def _policies(p: Any, code: str, n: int) -> list[str]:
    """Policies written in-process straight into the emulator's table (setup, not measured)."""
    from petcover.identity import Principal
    from petcover.models.policies import UnderwriteRequest
    from petcover.services import policies

    who = Principal("channel", "demo-shop")

    def one(i: int) -> str:
        req = UnderwriteRequest.model_validate(
            {
                "product_code": code,
                "plan_code": "basic",
                "channel_order_id": f"bench-{uuid.uuid4().hex}",
                "insured": {
                    "insured_id": f"bench-pet-{i}-{uuid.uuid4().hex[:6]}",
                    "species": "dog",
                    "breed_size": "small",
                    "age_months": 24,
                    "region": "310115",
                },
                "holder": {"name": "Bench"},
            }
        )
        return policies.underwrite(p, who, req).number

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(n)))


def _booking(number: str, pet: str) -> dict[str, Any]:
    return {
        "policy_number": number,
        "benefit_code": "medicine-delivery",
        "pet": {"pet_id": pet, "name": "Bench"},
        "address": {"contact_name": "Bench", "phone": "13800000000", "line": "1 Century Ave", **REGION},
    }


def _assigned_total(p: Any) -> int:
    from petcover.services.dispatch import counters

    return counters.read_counts(p, counters.business_date(p), "310000#medicine_delivery")[1]


def single_latency(client: Any, p: Any, numbers: list[str]) -> list[float]:
    """Book one at a time; latency = the assignment step's time minus the booking's creation time."""
    from petcover.services import policies

    out = []
    for number in numbers:
        pet = policies.load_policy(p, number, balances=False)[0].insured.insured_id
        body = {k: v for k, v in _booking(number, pet).items() if k != "policy_number"}
        r = client.post(f"/policies/{number}/appointments", json=body, idempotency_key=uuid.uuid4().hex)
        assert r.status == 201, r.body
        appt = r.json["appointment_id"]
        deadline = time.time() + 60
        while time.time() < deadline:
            got = client.get(f"/appointments/{appt}").json
            steps = [s for s in got.get("steps", []) if s["action"] in ("assign", "assigned", "dispatch")]
            if got.get("provider_id") and steps:
                created = datetime.fromisoformat(got["created_at"])
                out.append((datetime.fromisoformat(steps[0]["at"]) - created).total_seconds() * 1000)
                break
            time.sleep(0.05)
    return out


def batch_run(client: Any, p: Any, numbers: list[str]) -> float:
    """Submit the orders in batch requests and wait until dispatch has assigned every one."""
    from petcover.services import policies

    start_total = _assigned_total(p)
    t0 = time.perf_counter()
    for i in range(0, len(numbers), BATCH):
        chunk = numbers[i : i + BATCH]
        items = [_booking(n, policies.load_policy(p, n, balances=False)[0].insured.insured_id) for n in chunk]
        r = client.post("/appointment-batches", json={"items": items}, idempotency_key=uuid.uuid4().hex)
        assert r.status == 202, r.body
    deadline = time.perf_counter() + 3600
    while time.perf_counter() < deadline and _assigned_total(p) - start_total < len(numbers):
        time.sleep(1)
    return time.perf_counter() - t0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--single", type=int, default=100)
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--big", type=int, default=10_000)
    args = ap.parse_args(argv)
    with local_cloud() as (cloud, demo):
        from infra.credentials import ops_token
        from petcover.client import OpsClient, PetcoverClient

        ops = OpsClient(cloud.api_base, ops_token(["admin"]), timeout=60)
        code = _product(ops, ops)
        p = _ports(cloud)
        ch = demo["channel"]
        client = PetcoverClient(cloud.api_base, ch["key_id"], ch["secret"], timeout=60)
        warm = 20  # cold starts of the booking and dispatch consumers are not part of the figure
        numbers = _policies(p, code, warm + args.single + args.small + args.big)
        batch_run(client, p, numbers[:warm])
        numbers = numbers[warm:]
        lat = single_latency(client, p, numbers[: args.single])
        small = batch_run(client, p, numbers[args.single : args.single + args.small])
        big = batch_run(client, p, numbers[args.single + args.small :])
        s = summary_ms(lat)
        body = table(
            ["booking -> dispatched (single bookings)", "n", "p50 ms", "p95 ms", "p99 ms"],
            [["POST /policies/{n}/appointments until assigned", s["n"], s["p50"], s["p95"], s["p99"]]],
        )
        body += "\n\n" + table(
            ["batch", "orders", "fan-out + dispatch wall s", "orders/s"],
            [
                [f"{args.small:,} orders ({-(-args.small // BATCH)} requests)", args.small, small, args.small / small],
                [f"{args.big:,} orders ({-(-args.big // BATCH)} requests)", args.big, big, args.big / big],
            ],
        )
        body += (
            f"\n\nScaling: {args.big // args.small}x the orders took {big / small:.1f}x the time "
            "(linear is the same ratio). Booking queue -> booking consumer -> dispatch queue -> dispatch "
            "consumer -> assignment, all on the local cloud's Lambda workers."
        )
        write("fulfilment", "Booking to dispatch through the local cloud", body, "make bench")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
