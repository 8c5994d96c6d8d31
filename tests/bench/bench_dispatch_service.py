"""Dispatch service benchmark: the real consumer code (dispatch_one) over MemoryStore, 4 workers.

Run from the repo root:  PYTHONPATH=shared:. .venv/bin/python -m tests.bench.bench_dispatch_service

Three providers onboarded through the real partner flow share one region+service type 50/30/20.
Four threads pull 10,000 appointment messages and run ``assignment.dispatch_one`` on each: claim
(put if absent), today's counts (one Query), decide, confirm the provider is active (two Gets),
conditional ADD on its counter, ADD on the scope total, settle the record. ``fulfilment.assignment.assign`` is
replaced by a recorder, which is where the running shares are measured; the same loop also draws a
plain weighted-random choice (share only) as the baseline. Store calls are counted by MemoryStore;
those counts carry over to DynamoDB, its timings do not (its Query scans the whole table, so the
store time grows with the run). Figures go to bench/results/dispatch_service.md; no timed asserts.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from petcover.domain.dispatch_simulation import weighted_random_choice
from petcover.identity import Principal
from petcover.messaging import MemoryPublisher
from petcover.models.dispatch import RulesPublish
from petcover.ports import Ports
from petcover.services.dispatch import assignment, counters
from petcover.services.dispatch import rules as dispatch_rules
from petcover.storage.memory import MemoryStore
from tests.support.blobs import FakeBlobs
from tests.support.providers import onboard_provider

ORDERS = 10_000
WORKERS = 4
WARMUP = 100
LATER = 1_000
SHARES = {"clinic-a": 50, "clinic-b": 30, "clinic-c": 20}
TARGET_PP = 0.5
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
COMMAND = "PYTHONPATH=shared:. .venv/bin/python -m tests.bench.bench_dispatch_service"
OUT = Path("bench/results/dispatch_service.md")


@dataclass
class Shares:
    """Running shares of one method, updated as assignments land."""

    counts: Counter[str] = field(default_factory=Counter)
    worst: dict[str, float] = field(default_factory=dict)
    worst_later: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str) -> None:
        with self.lock:
            self.counts[name] += 1
            total = sum(self.counts.values())
            if total < WARMUP:
                return
            for pid, share in SHARES.items():
                dev = abs(100 * self.counts[pid] / total - share)
                self.worst[pid] = max(self.worst.get(pid, 0.0), dev)
                if total >= LATER:
                    self.worst_later[pid] = max(self.worst_later.get(pid, 0.0), dev)

    def final_pct(self, name: str) -> float:
        return 100 * self.counts[name] / sum(self.counts.values())


class TimedStore:
    """Passes every call to the store and adds the time it took to the calling worker's account."""

    def __init__(self, inner: MemoryStore) -> None:
        self._inner = inner
        self.local = threading.local()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def timed(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return target(*a, **kw)
            finally:
                self.local.seconds = getattr(self.local, "seconds", 0.0) + time.perf_counter() - t0

        return timed


@dataclass
class WorkerStats:
    decisions: int = 0
    wall_seconds: float = 0.0
    store_seconds: float = 0.0
    retried: int = 0
    steps: Counter[str] = field(default_factory=Counter)


def setup() -> tuple[Ports, TimedStore, dict[str, str]]:
    store = MemoryStore()
    p = Ports(store=store, publisher=MemoryPublisher(), clock=lambda: NOW, blobs=FakeBlobs())
    ids = {name: onboard_provider(p, name.title()) for name in SHARES}
    rules = [
        {
            "region_code": "310115",
            "service_type": "checkup",
            "providers": [
                {
                    "provider_id": ids[name],
                    "share_pct": share,
                    "weight": 0,
                    "daily_capacity": ORDERS,
                    "scope": "regional",
                }
                for name, share in SHARES.items()
            ],
        }
    ]
    dispatch_rules.publish(
        p, Principal("ops", "bench", ("ops",)), RulesPublish.model_validate({"rules": rules, "daily_target": ORDERS})
    )
    timed = TimedStore(store)
    return Ports(store=timed, publisher=p.publisher, clock=p.clock), timed, ids  # type: ignore[arg-type]


def run(seed: int = 20240101) -> dict[str, Any]:
    assignment.clear_caches()
    p, timed, ids = setup()
    names = {pid: name for name, pid in ids.items()}
    store: MemoryStore = timed._inner
    rule = dispatch_rules.in_effect(p).rules[0]  # type: ignore[union-attr]
    smart, plain = Shares(), Shares()
    stats = [WorkerStats() for _ in range(WORKERS)]
    next_order = iter(range(ORDERS))
    take = threading.Lock()
    start = threading.Barrier(WORKERS)
    calls_before = dict(store.calls)

    def assign(_p: Ports, appointment_id: str, provider_id: str | None, decision: dict[str, Any]) -> None:
        smart.add(names.get(provider_id or "", "manual"))

    def worker(i: int) -> None:
        rng = random.Random(seed + i)
        st = stats[i]
        start.wait()
        t0 = time.perf_counter()
        while True:
            with take:
                n = next(next_order, None)
            if n is None:
                break
            msg = {
                "appointment_id": f"ap-{n:05d}",
                "policy_number": "PC0001",
                "channel_id": "shop-a",
                "service_type": "checkup",
                "province": "310000",
                "city": "310100",
                "district": "310115",
            }
            rec = assignment.dispatch_one(p, msg, assign=assign, rng=rng)
            assert rec.decision is not None
            st.decisions += 1
            st.steps[rec.decision.step] += 1
            st.retried += rec.decision.attempts > 1
            plain.add(names[weighted_random_choice(rule, rng)])
        st.wall_seconds = time.perf_counter() - t0
        st.store_seconds = getattr(timed.local, "seconds", 0.0)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    calls = {k: store.calls.get(k, 0) - calls_before.get(k, 0) for k in store.calls}
    per_provider, total = counters.read_counts(p, counters.business_date(p), "310115#checkup")
    return {
        "smart": smart,
        "plain": plain,
        "stats": stats,
        "elapsed": elapsed,
        "calls": {k: v for k, v in calls.items() if v},
        "counters": {names[pid]: n for pid, n in per_provider.items()},
        "total": total,
    }


def report(r: dict[str, Any]) -> str:
    smart: Shares = r["smart"]
    plain: Shares = r["plain"]
    stats: list[WorkerStats] = r["stats"]
    calls: dict[str, int] = r["calls"]
    steps: Counter[str] = sum((st.steps for st in stats), Counter())
    retried = sum(st.retried for st in stats)
    lines = [
        "## Dispatch service (dispatch_one) under 4 workers, MemoryStore",
        "",
        f"`{COMMAND}`",
        "",
        f"{ORDERS:,} appointment messages for one region+service type (shares "
        f"{'/'.join(str(s) for s in SHARES.values())}, capacity {ORDERS:,} each), {WORKERS} threads running the "
        "real `assignment.dispatch_one` on one MemoryStore: claim, one Query for today's counts, decide, confirm "
        "the provider is active, conditional ADD, total ADD, settle. Shares are measured where fulfilment's `assign` "
        "would be called; plain = weighted-random by share only, drawn in the same loop. Worst deviation after "
        f"the first {WARMUP} orders (and after {LATER:,}). Run took {r['elapsed']:.1f} s.",
        "",
        f"| provider | target % | smart final % | smart worst dev pp (>{WARMUP}) | smart worst (>{LATER:,}) "
        f"| plain final % | plain worst dev pp (>{WARMUP}) | plain worst (>{LATER:,}) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for pid, share in SHARES.items():
        lines.append(
            f"| {pid} | {share} | {smart.final_pct(pid):.2f} | {smart.worst.get(pid, 0):.2f} "
            f"| {smart.worst_later.get(pid, 0):.2f} | {plain.final_pct(pid):.2f} | {plain.worst.get(pid, 0):.2f} "
            f"| {plain.worst_later.get(pid, 0):.2f} |"
        )
    worst_final = max(abs(smart.final_pct(pid) - share) for pid, share in SHARES.items())
    verdict = "met" if worst_final <= TARGET_PP else "MISSED"
    counted = r["counters"]
    lines += [
        "",
        f"Target (every provider within ±{TARGET_PP} pp at the end): **{verdict}** "
        f"(worst final deviation {worst_final:.2f} pp).",
        "",
        "Decision steps: " + ", ".join(f"{k} {v:,}" for k, v in sorted(steps.items())) + f"; decisions that "
        f"lost a capacity race or re-decided: {retried:,}. Counters in the store afterwards: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(counted.items()))
        + f", total {r['total']:,} (equal to the assignments: nothing counted twice, nothing lost).",
        "",
        "| worker | decisions | decisions/s wall | store share of wall | decisions/s outside the store |",
        "|---:|---:|---:|---:|---:|",
    ]
    for i, st in enumerate(stats):
        outside = st.wall_seconds - st.store_seconds
        lines.append(
            f"| {i} | {st.decisions:,} | {st.decisions / st.wall_seconds:,.0f} "
            f"| {100 * st.store_seconds / st.wall_seconds:.0f}% | {st.decisions / outside:,.0f} |"
        )
    per = {k: v / ORDERS for k, v in sorted(calls.items())}
    lines += [
        "",
        f"Store calls per assignment: **{sum(per.values()):.2f}** ("
        + ", ".join(f"{k} {v:.2f}" for k, v in per.items())
        + "). Per assignment: put (claim the appointment), query (today's counts), get x2 (the chosen "
        "provider's live configuration and account: only an active, reviewed provider gets orders), "
        "update x3 (conditional ADD on the provider's counter, ADD on the scope total, settle the record). "
        "The rule set and the active-provider list come from a per-container cache (a few seconds), so "
        "their reads amortise to ~0. A redelivered message costs put (refused) + get, and no counter write.",
        "",
        "MemoryStore serialises every call under one lock and its Query scans the whole table (10,000+ "
        "items by the end), so the wall figures are a floor for this machine, not a DynamoDB estimate; the "
        "'outside the store' column is the service code itself (decide, pydantic, JSON). Not measured here: "
        "on DynamoDB, 7 sequential calls at a typical 5-10 ms each would put one worker (one Lambda "
        "working through its batch of 10) near 15-30 assignments/s; more throughput comes from more "
        "concurrent consumers, which the conditional ADD keeps within capacity.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    text = report(run())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(text)
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
