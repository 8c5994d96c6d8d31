"""Insurer channels: underwrite latency with the insurer hop, and the shares of routed orders.

Run from the repo root:  PYTHONPATH=shared:functions:. .venv/bin/python -m tests.bench.bench_insurers

1. Latency: underwrites through the service on the in-memory store, in-house and through the
   mock insurer of ``make run`` over loopback HTTP (signed, answering after 50 ms), in the same
   run; with the store calls each needs (the figure that transfers to AWS).
2. Shares: 10,000 orders routed between three insurers weighted 50/30/20 by the routing service
   each underwrite calls, and 1,000 full underwrites (fake insurers answering at once).
Figures are printed and written to bench/results/insurers.md; nothing here is a timed assert.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.mock_insurer import serve
from petcover import runtime
from petcover.domain.catalog import InsuredFacts
from petcover.domain.insurer_routing import RoutingRules
from petcover.identity import Principal
from petcover.messaging import MemoryPublisher
from petcover.models.insurers import EndpointInput
from petcover.models.partners import PartnerCreate
from petcover.models.policies import Holder, UnderwriteRequest
from petcover.ports import Ports
from petcover.services import catalog, policies
from petcover.services.insurers import adapter, endpoints, routing
from petcover.services.partners import accounts
from petcover.storage.memory import MemoryBlobs, MemorySecretBox, MemoryStore
from tests.support.fixtures import STAFF
from tests.support.fixtures import catalogue as make_catalogue
from tests.support.insurers import FakeInsurer, fake_sender

LATENCY_ORDERS = int(os.environ.get("INSURER_BENCH_LATENCY", "200"))
SHARE_ORDERS = int(os.environ.get("INSURER_BENCH_SHARES", "10000"))
# Full underwrites are slower on the in-memory store (its index queries are linear in its size):
# the shares of SHARE_ORDERS orders come from the routing service each underwrite calls (the
# decision and its counter, on the same store), and FULL_ORDERS go through the whole underwrite.
FULL_ORDERS = int(os.environ.get("INSURER_BENCH_FULL", "1000"))
WEIGHTS = {"A": 50, "B": 30, "C": 20}
SHOP = Principal("channel", "shop-a")
COMMAND = "PYTHONPATH=shared:functions:. .venv/bin/python -m tests.bench.bench_insurers"
OUT = Path("bench/results/insurers.md")


def _ports() -> Ports:
    p = Ports(store=MemoryStore(), publisher=MemoryPublisher(), blobs=MemoryBlobs(), secrets=MemorySecretBox())
    runtime.install(p)
    catalog.clear_caches()
    make_catalogue(p, ("shop-a",))
    return p


def _request(tag: str, i: int) -> UnderwriteRequest:
    return UnderwriteRequest(
        product_code="pet-health",
        plan_code="basic",
        insured=InsuredFacts(
            insured_id=f"{tag}-{i}", species="dog", breed_size="small", age_months=30, region="310115"
        ),
        channel_order_id=f"{tag}-{i}",
        holder=Holder(name="Li Lei"),
    )


def _insurer(p: Ports, name: str, url: str) -> tuple[str, Any]:
    acc = accounts.create_partner(p, STAFF, PartnerCreate(kind="insurer", name=name, agreement_ref="AG-B"))
    saved = endpoints.save(p, STAFF, acc.id, EndpointInput(url=url.replace("{id}", acc.id), timeout_ms=3000))
    return acc.id, saved


def _timed(p: Ports, tag: str, n: int) -> tuple[list[float], float]:
    """Milliseconds per underwrite, and store calls per underwrite."""
    store = p.store
    assert isinstance(store, MemoryStore)
    before = sum(store.calls.values())
    times: list[float] = []
    for i in range(n):
        t0 = time.perf_counter()
        pol = policies.underwrite(p, SHOP, _request(tag, i))
        times.append((time.perf_counter() - t0) * 1000)
        assert pol.status == "active", pol.status
    return times, (sum(store.calls.values()) - before) / n


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def latency() -> dict[str, Any]:
    p = _ports()
    server, mock = serve(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        mock.set_mode({"mode": "answer", "delay_ms": 50})
        inhouse, inhouse_calls = _timed(p, "inhouse", LATENCY_ORDERS)
        ins, saved = _insurer(p, "Bench Mock Insurer", f"http://127.0.0.1:{server.server_address[1]}/api")
        mock.keys[saved.key_id] = saved.secret
        routing.save_rules(p, STAFF, "pet-health", RoutingRules.model_validate({"routes": [{"insurer_id": ins}]}))
        hop, hop_calls = _timed(p, "hop", LATENCY_ORDERS)
    finally:
        server.shutdown()
        server.server_close()
    return {
        "inhouse": (statistics.median(inhouse), _pct(inhouse, 0.95), inhouse_calls),
        "hop": (statistics.median(hop), _pct(hop, 0.95), hop_calls),
    }


def shares(n: int, *, full: bool) -> tuple[Counter[str], float]:
    p = _ports()
    names: dict[str, str] = {}
    fakes: dict[str, FakeInsurer] = {}
    for label in WEIGHTS:
        ins, _ = _insurer(p, f"Bench Insurer {label}", "https://{id}.insurer.test")
        names[ins], fakes[ins] = label, FakeInsurer(ins)
    p.extra[adapter.SENDER_PORT] = fake_sender(fakes)
    rules = {"routes": [{"insurer_id": i, "weight": WEIGHTS[label]} for i, label in names.items()]}
    routing.save_rules(p, STAFF, "pet-health", RoutingRules.model_validate(rules))
    t0 = time.perf_counter()
    got: Counter[str] = Counter()
    for i in range(n):
        if full:
            pol = policies.underwrite(p, SHOP, _request("share", i))
            assert pol.insurer is not None and pol.status == "active"
            chosen = pol.insurer.insurer_id
        else:
            decision = routing.route(p, "shop-a", "pet-health")
            routing.counted(p, "pet-health", decision)
            chosen = decision.insurer_id
        got[names[chosen]] += 1
    return got, time.perf_counter() - t0


def main() -> int:
    lat = latency()
    routed, took = shares(SHARE_ORDERS, full=False)
    full, took_full = shares(FULL_ORDERS, full=True)
    weight_sum = sum(WEIGHTS.values())

    def rows(got: Counter[str]) -> list[str]:
        total = sum(got.values())
        return [
            f"| {label} | {w} | {got[label]:,} | {100 * got[label] / total:.2f} % | "
            f"{abs(100 * got[label] / total - 100 * w / weight_sum):.2f} pp |"
            for label, w in WEIGHTS.items()
        ]

    (ih50, ih95, ihc), (h50, h95, hc) = lat["inhouse"], lat["hop"]
    text = "\n".join(
        [
            "## Insurer channels",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{COMMAND}`, in-process on the in-memory store.",
            "",
            f"Underwrite latency over {LATENCY_ORDERS} orders each (service level; the mock insurer over loopback "
            "HTTP, signed, answering after 50 ms):",
            "",
            "| path | p50 | p95 | store calls per underwrite |",
            "|---|---|---|---|",
            f"| in-house | {ih50:.1f} ms | {ih95:.1f} ms | {ihc:.1f} |",
            f"| through the insurer | {h50:.1f} ms | {h95:.1f} ms | {hc:.1f} |",
            "",
            f"Shares after {SHARE_ORDERS:,} routed orders (weights {'/'.join(map(str, WEIGHTS.values()))}; "
            f"the routing decision and counter of each underwrite, {took:.0f} s):",
            "",
            "| insurer | weight | orders | share | off its weight |",
            "|---|---|---|---|---|",
            *rows(routed),
            "",
            f"Shares after {FULL_ORDERS:,} full underwrites, same weights ({took_full:.0f} s):",
            "",
            "| insurer | weight | orders | share | off its weight |",
            "|---|---|---|---|---|",
            *rows(full),
            "",
        ]
    )
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
