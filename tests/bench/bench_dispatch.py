"""Dispatch share benchmark: smart dispatch against plain weighted-random, under concurrency.

Run from the repo root:  PYTHONPATH=shared python -m tests.bench.bench_dispatch

Workers share an in-memory counter store. Like the production consumer they read today's counts,
decide outside any lock (so they may see counts a few orders stale), then add one under a lock
(the DynamoDB atomic ADD). The plain baseline picks by share only, in the same run.
Figures are printed and written to bench/results/dispatch.md; nothing here is a timed assert.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from petcover.domain.dispatch import (
    OrderFacts,
    ProviderShare,
    RegionRule,
    RuleSet,
    counter_scope,
    decide,
)
from petcover.domain.dispatch_simulation import weighted_random_choice

ORDERS = 10_000
WORKERS = 4
WARMUP = 100  # deviations are only measured once this many orders are counted
LATER = 1_000  # a second worst-deviation figure, past the first few hundred orders
SHARES = {"clinic-a": 50, "clinic-b": 30, "clinic-c": 20}
TARGET_PP = 0.5
COMMAND = "PYTHONPATH=shared .venv/bin/python -m tests.bench.bench_dispatch"
OUT = Path("bench/results/dispatch.md")


@dataclass
class CounterStore:
    """In-memory stand-in for the daily counter item: read, then atomic add."""

    counts: dict[str, int] = field(default_factory=dict)
    worst: dict[str, float] = field(default_factory=dict)
    worst_later: dict[str, float] = field(default_factory=dict)
    stale_orders: int = 0  # orders other workers added between a read and the matching add
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)

    def add(self, provider_id: str, seen_total: int | None = None) -> None:
        with self.lock:
            total = sum(self.counts.values())
            if seen_total is not None:
                self.stale_orders += total - seen_total
            self.counts[provider_id] = self.counts.get(provider_id, 0) + 1
            total += 1
            if total >= WARMUP:
                for pid, share in SHARES.items():
                    dev = abs(100 * self.counts.get(pid, 0) / total - share)
                    self.worst[pid] = max(self.worst.get(pid, 0.0), dev)
                    if total >= LATER:
                        self.worst_later[pid] = max(self.worst_later.get(pid, 0.0), dev)

    def final_pct(self, provider_id: str) -> float:
        return 100 * self.counts.get(provider_id, 0) / sum(self.counts.values())


@dataclass
class WorkerStats:
    decisions: int = 0
    decide_seconds: float = 0.0
    wall_seconds: float = 0.0
    steps: dict[str, int] = field(default_factory=dict)


def build() -> tuple[RuleSet, RegionRule]:
    providers = [
        ProviderShare(provider_id=pid, share_pct=share, weight=0, daily_capacity=ORDERS, scope="regional")
        for pid, share in SHARES.items()
    ]
    rule = RegionRule(region_code="310115", service_type="checkup", providers=providers)
    rs = RuleSet(version=1, effective_at=datetime(2024, 1, 1, tzinfo=UTC), rules=[rule], daily_target=ORDERS)
    return rs, rule


def run(seed: int = 20240101) -> tuple[CounterStore, CounterStore, list[WorkerStats], float]:
    rs, rule = build()
    assert counter_scope(rule) == "310115#checkup"  # one counter scope for the whole run
    smart, plain = CounterStore(), CounterStore()
    stats = [WorkerStats() for _ in range(WORKERS)]
    next_order = iter(range(ORDERS))
    take_lock = threading.Lock()
    start = threading.Barrier(WORKERS)

    def worker(i: int) -> None:
        rng = random.Random(seed + i)
        st = stats[i]
        start.wait()
        t0 = time.perf_counter()
        while True:
            with take_lock:
                n = next(next_order, None)
            if n is None:
                break
            order = OrderFacts(
                order_id=f"o{n}", service_type="checkup", province="310000", city="310100", district="310115"
            )
            counts = smart.read()
            time.sleep(0)  # yield, as a network round trip would, so other workers interleave
            d0 = time.perf_counter()
            decision = decide(rs, order, counts, None, rng)
            st.decide_seconds += time.perf_counter() - d0
            st.decisions += 1
            st.steps[decision.step] = st.steps.get(decision.step, 0) + 1
            if decision.provider_id is not None:
                smart.add(decision.provider_id, seen_total=sum(counts.values()))
            plain.add(weighted_random_choice(rule, rng))
        st.wall_seconds = time.perf_counter() - t0

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return smart, plain, stats, time.perf_counter() - t0


def report(smart: CounterStore, plain: CounterStore, stats: list[WorkerStats], elapsed: float) -> str:
    lines = [
        "## Smart dispatch vs plain weighted-random",
        "",
        f"`{COMMAND}`",
        "",
        f"{ORDERS:,} orders, shares {'/'.join(str(s) for s in SHARES.values())}, {WORKERS} worker threads "
        "sharing one counter store (read, decide outside the lock, then atomic add); "
        f"worst deviation measured after the first {WARMUP} orders (and after {LATER:,}). "
        f"A smart decision saw counts {smart.stale_orders / ORDERS:.2f} orders stale on average. "
        f"Run took {elapsed:.1f} s.",
        "",
        f"| provider | target % | smart final % | smart worst dev pp (>{WARMUP}) | smart worst (>{LATER:,}) "
        f"| plain final % | plain worst dev pp (>{WARMUP}) | plain worst (>{LATER:,}) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for pid, share in SHARES.items():
        lines.append(
            f"| {pid} | {share} | {smart.final_pct(pid):.2f} | {smart.worst[pid]:.2f} "
            f"| {smart.worst_later[pid]:.2f} | {plain.final_pct(pid):.2f} | {plain.worst[pid]:.2f} "
            f"| {plain.worst_later[pid]:.2f} |"
        )
    worst_final = max(abs(smart.final_pct(pid) - share) for pid, share in SHARES.items())
    verdict = "met" if worst_final <= TARGET_PP else "MISSED"
    steps: dict[str, int] = {}
    for st in stats:
        for step, n in st.steps.items():
            steps[step] = steps.get(step, 0) + n
    lines += [
        "",
        f"Target (every provider within ±{TARGET_PP} pp at the end, smart dispatch): **{verdict}** "
        f"(worst final deviation {worst_final:.2f} pp).",
        "",
        "Decision steps: " + ", ".join(f"{k} {v:,}" for k, v in sorted(steps.items())) + ".",
        "",
        "| worker | decisions | decisions/s of time inside decide() | decisions/s wall (whole loop) |",
        "|---:|---:|---:|---:|",
    ]
    for i, st in enumerate(stats):
        lines.append(
            f"| {i} | {st.decisions:,} | {st.decisions / st.decide_seconds:,.0f} "
            f"| {st.decisions / st.wall_seconds:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    smart, plain, stats, elapsed = run()
    text = report(smart, plain, stats, elapsed)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(text)
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
