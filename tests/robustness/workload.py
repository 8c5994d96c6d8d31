"""The mixed channel workload: the channel's and the providers' side of the documented mix, the
warm-up before a timed run, and the invariants read from the emulator's table afterwards.

Shared by the load-with-invariants test (tests/e2e/test_robustness_load.py) and the platform bench
(tests/bench/bench_platform.py), so both drive and check the same thing.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

from petcover.client import PetcoverClient
from petcover.domain import calendar
from tests.robustness import e2e_world, invariants
from tests.robustness.auth import assert_loopback
from tests.robustness.load import Op, Sample, timed

WEIGHTS = {
    "quote": 2.0,
    "underwrite": 1.0,
    "underwrite-retry": 0.1,
    "underwrite-race": 0.05,
    "query": 1.0,
    "claim": 0.5,
    "book": 0.5,
    "provider-accept": 0.25,
    "provider-ship": 0.25,
    "receipt": 0.25,
}


class Workload:
    """The channel's and the providers' side of the mix, and what they were told (for the checks)."""

    def __init__(self, stack: Any, world: e2e_world.RobustWorld) -> None:
        assert_loopback(stack.base)
        self.shop = PetcoverClient(stack.base, *world.shop_key, timeout=60)
        self.providers = [PetcoverClient(stack.base, *pv.key, timeout=60) for pv in world.providers]
        self.lock = threading.Lock()
        self.rng = random.Random(20261122)
        self.seq = 0
        self.run = uuid.uuid4().hex[:6]
        # idempotency key -> [(status, policy number, "channel/order")]
        self.answers: dict[str, list[tuple[int, str | None, str]]] = {}
        self.bodies: dict[str, dict[str, Any]] = {}
        self.policies: list[str] = []  # acknowledged (201) policy numbers
        self.unbooked: deque[str] = deque()
        self.claims: list[str] = []
        self.appointments: list[str] = []
        self.to_accept: deque[tuple[int, str]] = deque()
        self.to_ship: deque[tuple[int, str]] = deque()
        self.to_receive: deque[str] = deque()

    def _next(self) -> int:
        with self.lock:
            self.seq += 1
            return self.seq

    def _pick(self, items: list[str]) -> str:
        with self.lock:
            return self.rng.choice(items)

    # ------------------------------------------------------------ channel
    def quote(self) -> list[Sample]:
        n = self._next()
        body = {"product_code": e2e_world.CARE, "plan_code": "basic", "insured": e2e_world.insured(n, "rb-q")}
        s, _ = timed("quote", lambda: self.shop.post("/quotes", json=body))
        return [s]

    def _underwrite(self, name: str, key: str, body: dict[str, Any]) -> Sample:
        s, resp = timed(name, lambda: self.shop.post("/policies", json=body, idempotency_key=key))
        number = resp.json.get("number") if resp is not None and resp.status == 201 else None
        with self.lock:
            self.answers.setdefault(key, []).append((s.status, number, f"{e2e_world.SHOP}/{body['channel_order_id']}"))
            if number and number not in self.policies:
                self.policies.append(number)
                self.unbooked.append(number)
        return s

    def underwrite(self) -> list[Sample]:
        n = self._next()
        key = f"rb-{self.run}-{n}"
        body = e2e_world.underwrite_body(f"rb-{self.run}-o{n}", f"{self.run}-{n}")
        with self.lock:
            self.bodies[key] = body
        return [self._underwrite("underwrite", key, body)]

    def underwrite_retry(self) -> list[Sample]:
        """The same request again with the same key: must replay the first answer."""
        with self.lock:
            key = self.rng.choice(sorted(self.bodies))
            body = self.bodies[key]
        return [self._underwrite("underwrite-retry", key, body)]

    def underwrite_race(self) -> list[Sample]:
        """Two identical requests with one new key, at the same moment: one policy at most."""
        n = self._next()
        key = f"rb-{self.run}-race-{n}"
        body = e2e_world.underwrite_body(f"rb-{self.run}-race-o{n}", f"{self.run}-race-{n}")
        with self.lock:
            self.bodies[key] = body
        barrier = threading.Barrier(2)
        out: list[Sample] = []

        def go() -> None:
            barrier.wait()
            out.append(self._underwrite("underwrite-race", key, body))

        t = threading.Thread(target=go)
        t.start()
        go()
        t.join()
        return out

    def query(self) -> list[Sample]:
        number = self._pick(self.policies)
        s, _ = timed("query", lambda: self.shop.get(f"/policies/{number}"))
        return [s]

    def claim(self) -> list[Sample]:
        number = self._pick(self.policies)
        n = self._next()
        body = e2e_world.claim_body(f"{10 + n % 90}.50")
        s, resp = timed(
            "claim", lambda: self.shop.post(f"/policies/{number}/claims", json=body, idempotency_key=f"rb-c-{n}")
        )
        if resp is not None and resp.status == 201:
            with self.lock:
                self.claims.append(resp.json["claim_number"])
        return [s]

    def book(self) -> list[Sample]:
        with self.lock:
            number = self.unbooked.popleft() if self.unbooked else None
        if number is None:
            return self.quote()
        body = e2e_world.online_booking(self._pet_of(number))
        s, resp = timed(
            "book",
            lambda: self.shop.post(f"/policies/{number}/appointments", json=body, idempotency_key=f"rb-b-{number}"),
        )
        if resp is not None and resp.status == 201:
            with self.lock:
                self.appointments.append(resp.json["appointment_id"])
        return [s]

    def _pet_of(self, number: str) -> str:
        with self.lock:
            for key, seen in self.answers.items():
                if any(n == number for _, n, _ in seen):
                    return str(self.bodies[key]["insured"]["insured_id"]).removeprefix("rb-pet-")
        raise AssertionError(f"no body recorded for {number}")

    def receipt(self) -> list[Sample]:
        with self.lock:
            aid = self.to_receive.popleft() if self.to_receive else None
        if aid is None:
            return self.query()
        s, _ = timed("receipt", lambda: self.shop.post(f"/appointments/{aid}/receipt"))
        return [s]

    # ------------------------------------------------------------ providers
    def _provider_list(self, i: int, status: str, into: deque[tuple[int, str]]) -> Sample:
        s, resp = timed(
            "provider-list", lambda: self.providers[i].get("/work-orders", query={"status": status, "limit": "20"})
        )
        if resp is not None and resp.status == 200:
            with self.lock:
                known = set(into)
                for wo in resp.json.get("items", []):
                    if (i, wo["appointment_id"]) not in known:
                        into.append((i, wo["appointment_id"]))
        return s

    def provider_accept(self) -> list[Sample]:
        with self.lock:
            item = self.to_accept.popleft() if self.to_accept else None
        if item is None:
            i = self._next() % len(self.providers)
            return [self._provider_list(i, "booking", self.to_accept)]
        i, aid = item
        s, resp = timed("provider-accept", lambda: self.providers[i].post(f"/work-orders/{aid}/accept"))
        if resp is not None and resp.status == 200:
            with self.lock:
                self.to_ship.append((i, aid))
        return [s]

    def provider_ship(self) -> list[Sample]:
        with self.lock:
            item = self.to_ship.popleft() if self.to_ship else None
        if item is None:
            i = self._next() % len(self.providers)
            return [self._provider_list(i, "booked", self.to_ship)]
        i, aid = item
        body = {"carrier": "SF Express", "tracking_number": f"SF{aid[-10:]}"}
        s, resp = timed("provider-ship", lambda: self.providers[i].post(f"/work-orders/{aid}/ship", json=body))
        if resp is not None and resp.status == 200:
            with self.lock:
                self.to_receive.append(aid)
        return [s]

    def ops(self, weights: dict[str, float] | None = None) -> list[Op]:
        has_policies = lambda: bool(self.policies)  # noqa: E731
        fns = {
            "quote": (self.quote, lambda: True),
            "underwrite": (self.underwrite, lambda: True),
            "underwrite-retry": (self.underwrite_retry, lambda: bool(self.bodies)),
            "underwrite-race": (self.underwrite_race, lambda: True),
            "query": (self.query, has_policies),
            "claim": (self.claim, has_policies),
            "book": (self.book, has_policies),
            "provider-accept": (self.provider_accept, lambda: bool(self.appointments)),
            "provider-ship": (self.provider_ship, lambda: bool(self.appointments)),
            "receipt": (self.receipt, lambda: bool(self.appointments)),
        }
        mix = weights or WEIGHTS
        return [Op(name, mix[name], fn, ready) for name, (fn, ready) in fns.items() if mix.get(name)]


def settle(stack: Any, seconds: float) -> tuple[list[dict[str, Any]], float]:
    """Wait until dispatch, quota deductions and the suite's webhooks are done (or time is up)."""
    t0 = time.monotonic()
    items: list[dict[str, Any]] = []
    while time.monotonic() - t0 < seconds:
        items = invariants.scan(stack.cloud)
        pending_dispatch = sum(1 for i in items if i.get("kind") == "dispatch_decision" and i.get("state") == "pending")
        deductions_done = invariants.quota_used_equals_fulfilled(items).holds
        pending_hooks = invariants.pending_webhooks(items, [e2e_world.SHOP])
        if not pending_dispatch and deductions_done and not pending_hooks:
            break
        time.sleep(2)
    return items, time.monotonic() - t0


def _call(fn: Any) -> Any:
    return fn()


def warm(work: Workload, width: int) -> None:
    """Before measuring: ``width`` concurrent calls of each main operation, so the emulator has spawned
    (cold-started, ~3 s each) as many workers per function as the load will use."""
    from concurrent.futures import ThreadPoolExecutor

    work.underwrite()  # the other operations need a policy
    steps = [
        work.quote,
        work.underwrite,
        work.query,
        work.claim,
        work.book,
        lambda: [work._provider_list(0, "booking", work.to_accept)],
    ]
    with ThreadPoolExecutor(max_workers=width) as pool:
        for step in steps:
            list(pool.map(_call, [step] * width))


def finish_some(work: Workload, limit: int) -> int:
    """After the timed run: walk up to ``limit`` booked appointments to fulfilled (accept, ship, receipt),
    so the quota invariant is checked against real deductions, not only against holds."""
    done = 0
    for provider in work.providers:
        orders = provider.get("/work-orders", query={"status": "booking", "limit": str(limit)}).json.get("items", [])
        for wo in orders[: max(0, limit - done)]:
            aid = wo["appointment_id"]
            if provider.post(f"/work-orders/{aid}/accept").status != 200:
                continue
            body = {"carrier": "SF Express", "tracking_number": f"SF{aid[-10:]}"}
            if provider.post(f"/work-orders/{aid}/ship", json=body).status != 200:
                continue
            if work.shop.post(f"/appointments/{aid}/receipt").status == 200:
                done += 1
    return done


def statistics_api_check(stack: Any, items: list[dict[str, Any]]) -> invariants.Invariant:
    """GET /ops/statistics (what finance sees) for the suite's channel equals the policies' sums."""
    inv = invariants.Invariant("statistics API equals the sum of the channel's policies")
    month = calendar.month_of(datetime.now(UTC))  # statistics rows are business months
    resp = stack.ops_client("finance").get(
        "/ops/statistics", query={"channel_id": e2e_world.SHOP, "granularity": "month", "start": month, "end": month}
    )
    if resp.status != 200:
        inv.fail(f"GET /ops/statistics answered {resp.status}: {resp.body[:200]!r}")
        return inv
    from decimal import Decimal

    mine = [
        invariants._data(i)
        for i in items
        if str(i.get("sk")) == "POLICY"
        and i.get("owner") == e2e_world.SHOP
        and str(invariants._data(i).get("created_at", "")).startswith(month)
    ]
    totals = resp.json["totals"]
    inv.checked = len(mine)
    want_n = len(mine)
    want_premium = sum((Decimal(str(d["premium"])) for d in mine), Decimal(0))
    want_refunds = sum((Decimal(str(d["refund"])) for d in mine if d.get("refund") is not None), Decimal(0))
    got = (int(totals["policies"]), Decimal(str(totals["premium"])), Decimal(str(totals["refunds"])))
    if got != (want_n, want_premium, want_refunds):
        inv.fail(f"API totals {got}; policies say ({want_n}, {want_premium}, {want_refunds})")
    return inv


def checks(stack: Any, work: Workload, settle_seconds: float) -> tuple[list[invariants.Invariant], float]:
    """Once the async side has had its time, every invariant over what the emulator's table holds."""
    items, settled = settle(stack, settle_seconds)
    sink = stack.cloud.sink_requests()
    received = {
        r["headers"].get("X-Pc-Event-Id") or r["headers"].get("x-pc-event-id")
        for r in sink
        if r.get("answered", 500) < 300
    }
    dlq = {str(m["event_id"]) for m in invariants.peek_queue(stack.cloud, "WebhookDLQ") if m.get("event_id")}
    found = [
        invariants.one_policy_per_key(items, work.answers),
        invariants.acknowledged_exist(items, "policy", "POLICY#", "POLICY", work.policies),
        invariants.acknowledged_exist(items, "claim", "CLAIM#", "CLAIM", work.claims),
        invariants.acknowledged_exist(items, "appointment", "APPT#", "APPT", work.appointments),
        invariants.quota_never_negative(items),
        invariants.quota_used_equals_fulfilled(items),
        invariants.dispatch_counters_match(items),
        invariants.statistics_match_policies(items),
        invariants.webhooks_delivered_or_dead(items, dlq, {str(e) for e in received if e}, [e2e_world.SHOP]),
        invariants.outbox_drained(items, datetime.now(UTC).isoformat()),
        statistics_api_check(stack, items),
    ]
    return found, settled
