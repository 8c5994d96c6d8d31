"""An open-loop load driver: a weighted mix of operations at a target rate, bounded by count AND time.

Requests are scheduled at ``rate`` per second (request ``i`` is due at ``t0 + i / rate``) and run
on a thread pool; when the system answers slower than the schedule, requests start late rather
than pile up without bound (at most ``workers * 4`` in flight), and the achieved rate is reported
next to the target. The mix is a smooth weighted round-robin, so it is deterministic for a given
set of weights. Latency is measured per request, around the HTTP call only.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sample:
    op: str
    status: int  # 0: no answer at all (timeout, refused connection)
    code: str | None  # the error body's code, if any
    ms: float


# An operation sends one or more requests and returns one sample per request.
OpFn = Callable[[], "list[Sample]"]


@dataclass
class Op:
    name: str
    weight: float
    fn: OpFn
    ready: Callable[[], bool] = lambda: True


def timed(name: str, call: Callable[[], Any]) -> tuple[Sample, Any]:
    """Run one client call; (its sample, the response or None when no answer came)."""
    t = time.perf_counter()
    try:
        resp = call()
    except OSError:  # URLError, timeout, connection reset: no answer
        return Sample(name, 0, "NO_ANSWER", (time.perf_counter() - t) * 1000), None
    ms = (time.perf_counter() - t) * 1000
    body = resp.json if resp.status >= 400 else None
    code = body.get("error", {}).get("code") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
    return Sample(name, resp.status, code, ms), resp


@dataclass
class LoadResult:
    target_rate: float
    duration_limit: float
    max_requests: int
    workers: int
    samples: list[Sample] = field(default_factory=list)
    elapsed: float = 0.0
    late_starts: int = 0
    stopped_by: str = ""

    @property
    def requests(self) -> int:
        return len(self.samples)

    @property
    def errors(self) -> list[Sample]:
        """Server errors and requests that got no answer at all."""
        return [s for s in self.samples if s.status >= 500 or s.status == 0]

    @property
    def achieved_rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def by_op(self) -> dict[str, list[Sample]]:
        out: dict[str, list[Sample]] = {}
        for s in self.samples:
            out.setdefault(s.op, []).append(s)
        return dict(sorted(out.items()))

    def statuses(self, op: str | None = None) -> Counter[str]:
        return Counter(
            f"{s.status} {s.code}" if s.code else str(s.status) for s in self.samples if op is None or s.op == op
        )


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation), 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]


class _Mix:
    """Smooth weighted round-robin over the operations that are ready."""

    def __init__(self, ops: list[Op]) -> None:
        self.ops = ops
        self.current = [0.0] * len(ops)

    def next(self) -> Op:
        ready = [i for i, op in enumerate(self.ops) if op.ready()]
        if not ready:
            ready = [0]
        total = sum(self.ops[i].weight for i in ready)
        for i in ready:
            self.current[i] += self.ops[i].weight
        best = max(ready, key=lambda i: self.current[i])
        self.current[best] -= total
        return self.ops[best]


def run(ops: list[Op], *, rate: float, duration: float, max_requests: int, workers: int) -> LoadResult:
    result = LoadResult(rate, duration, max_requests, workers)
    lock = threading.Lock()
    mix = _Mix(ops)

    def call(op: Op) -> None:
        try:
            samples = op.fn()
        except Exception as exc:  # a bug in the driver must not look like a product error
            samples = [Sample(op.name, -1, f"{type(exc).__name__}: {exc}", 0.0)]
        with lock:
            result.samples.extend(samples)

    t0 = time.monotonic()
    pending: set[Future[None]] = set()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") as pool:
        i = 0
        while True:
            now = time.monotonic()
            if i >= max_requests:
                result.stopped_by = "request count"
                break
            if now - t0 >= duration:
                result.stopped_by = "time"
                break
            due = t0 + i / rate
            if due > now:
                time.sleep(due - now)
            elif now - due > 0.05:
                result.late_starts += 1
            pending = {f for f in pending if not f.done()}
            if len(pending) >= workers * 4:
                wait(pending, return_when="FIRST_COMPLETED")
            pending.add(pool.submit(call, mix.next()))
            i += 1
        wait(pending)
    result.elapsed = time.monotonic() - t0
    drivers = [s for s in result.samples if s.status == -1]
    if drivers:
        raise AssertionError(f"the load driver itself failed {len(drivers)} times: {drivers[:3]}")
    return result
