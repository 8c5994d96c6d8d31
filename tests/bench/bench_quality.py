"""The quality loop over 60 days: three providers in one region, shares steered by monthly grades.

Run from the repo root:  PYTHONPATH=shared:functions:. .venv/bin/python -m tests.bench.bench_quality

Everything runs through the product's own services on the in-memory store with a controlled
clock: the dispatch consumer (``dispatch_one``) chooses each order's provider from the rules in
force; each work order's timeline nodes are recorded on time or late by the provider's on-time
rate (the monthly counters move with them); owners' ratings and complaints move their counters;
on the 1st of each month the assessment runs, one staff member applies it and another approves
the proposal, which publishes the next dispatch-rules version. Figures go to
bench/results/quality.md; the invariants (shares add to 100, each move within the bound, no
provider below the floor) are checked and printed.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

from petcover.domain import calendar
from petcover.domain.quality import share_bounds
from petcover.identity import Principal
from petcover.messaging import MemoryPublisher
from petcover.models.dispatch import RulesPublish
from petcover.models.partners import ProviderConfig, RegionEntry, ServiceOffering
from petcover.models.quality import ApplyRequest, DecideRequest
from petcover.ports import Ports
from petcover.repositories import quality as quality_keys
from petcover.services import timeline
from petcover.services.dispatch import assignment as dispatching
from petcover.services.dispatch import rules as dispatch_rules
from petcover.services.quality import assessment, steering
from petcover.storage.memory import MemoryBlobs, MemorySecretBox, MemoryStore
from tests.bench.common import table, write
from tests.support.clock import Clock

COMMAND = "PYTHONPATH=shared:functions:. .venv/bin/python -m tests.bench.bench_quality"
START = date(2026, 4, 1)  # 60 days: April and May; June's shares come from May's assessment
DAYS = 60
ORDERS_PER_DAY = 30
SERVICE = "medicine_delivery"
REGION = {"province": "310000", "city": "310100", "district": "310115"}
# provider -> (chance each timed node is on time, mean rating, chance of a complaint per order)
PROVIDERS = {"swift": (0.97, 4.7, 0.01), "steady": (0.85, 4.0, 0.03), "slow": (0.60, 3.0, 0.10)}
START_SHARES = {"swift": 34, "steady": 33, "slow": 33}
ALICE = Principal("ops", "alice", ("ops",))  # applies the assessment (maker)
BOB = Principal("ops", "bob", ("ops",))  # approves the proposal (checker)


def _config(pid: str) -> ProviderConfig:
    return ProviderConfig(
        provider_id=pid,
        name=pid,
        version=1,
        services=[ServiceOffering(service_type=SERVICE, mode="online_shipping")],
        regions=[RegionEntry(province="310000")],
        daily_capacity=10_000,
        contacts=[],
    )


CONFIGS = {pid: _config(pid) for pid in PROVIDERS}


def _rules(shares: dict[str, int]) -> RulesPublish:
    providers = [
        {"provider_id": pid, "share_pct": pct, "weight": 0, "daily_capacity": 10_000, "scope": "regional"}
        for pid, pct in shares.items()
    ]
    return RulesPublish.model_validate(
        {"rules": [{"region_code": "310115", "service_type": SERVICE, "providers": providers}], "daily_target": 30}
    )


def _at_local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=calendar.zone()).astimezone(UTC)


def _work(p: Ports, rng: random.Random, order_id: str, provider: str, at: datetime) -> None:
    """The work order's nodes (accepted within 30 min, shipped within 120 min) and the owner's feedback."""
    on_time, rating, complaint = PROVIDERS[provider]
    args: dict[str, Any] = {
        "order_id": order_id,
        "provider_id": provider,
        "service_type": SERVICE,
        "region": "310115",
        "online": True,
    }
    timeline.record(p, node="assigned", at=at, **args)
    accepted = at + timedelta(minutes=10 if rng.random() < on_time else 45)
    timeline.record(p, node="accepted", at=accepted, **args)
    shipped = accepted + timedelta(minutes=60 if rng.random() < on_time else 180)
    timeline.record(p, node="shipped", at=shipped, **args)
    timeline.record(p, node="completed", at=shipped + timedelta(days=1), **args)
    month = calendar.month_of(at)
    ops = []
    if rng.random() < 0.6:  # most owners rate
        score = max(1, min(5, round(rng.gauss(rating, 0.7))))
        ops.append(quality_keys.counter_op(provider, month, "rating", total=score))
    if rng.random() < complaint:
        ops.append(quality_keys.counter_op(provider, month, "complaints"))
    for op in ops:  # the rating and complaint services move these same counters with their records
        p.store.update(op.pk, op.sk, set=op.set, add=op.add)


def _month_end(p: Ports, clock: Clock, day: date) -> dict[str, Any]:
    """02:00 on the 1st: assess the month before, apply (alice) and approve (bob)."""
    clock.set(_at_local(day, 2))
    month = assessment.run(p)
    proposal = steering.apply(p, ALICE, month.month, ApplyRequest(note="monthly"))
    decided = steering.decide(p, BOB, proposal.proposal_id, DecideRequest(decision="approve"))
    return {"assessment": month, "proposal": decided}


def simulate(seed: int = 20260401) -> dict[str, Any]:
    rng = random.Random(seed)
    clock = Clock(_at_local(START, 0) - timedelta(days=1))
    p = Ports(store=MemoryStore(), publisher=MemoryPublisher(), blobs=MemoryBlobs(), secrets=MemorySecretBox())
    p.clock = clock
    dispatching.clear_caches()
    dispatch_rules.publish(p, ALICE, _rules(START_SHARES))
    dispatched: dict[str, Counter[str]] = {}
    targets: dict[str, dict[str, int]] = {calendar.month_of(clock.now + timedelta(days=1)): dict(START_SHARES)}
    cycles: list[dict[str, Any]] = []
    explained = ""
    last = START + timedelta(days=DAYS - 1)
    next_first = (last.replace(day=1) + timedelta(days=32)).replace(day=1)
    for n in range((next_first - START).days + 1):
        day = START + timedelta(days=n)
        if day.day == 1 and n > 0:
            cycle = _month_end(p, clock, day)
            cycles.append(cycle)
            shares = {c.provider_id: c.after_pct for c in cycle["proposal"].changes}
            targets[day.strftime("%Y-%m")] = shares
        if day > last:  # past the 60 days: only the month-end run of the 1st is left
            continue
        for i in range(ORDERS_PER_DAY):
            at = _at_local(day, 9, 0) + timedelta(minutes=20 * i)
            clock.set(at)
            msg = {
                "appointment_id": f"AP{n:03d}{i:02d}",
                "policy_number": "PC1",
                "channel_id": "shop",
                "service_type": SERVICE,
                **REGION,
            }
            rec = dispatching.dispatch_one(
                p,
                msg,
                assign=lambda *_a: None,
                providers=lambda _p: list(CONFIGS.values()),
                confirm=lambda _p, pid: CONFIGS[pid],
                rng=rng,
            )
            assert rec.decision is not None and rec.decision.provider_id is not None
            if rec.decision.assessment and not explained:
                explained = rec.decision.assessment
            dispatched.setdefault(calendar.month_of(at), Counter())[rec.decision.provider_id] += 1
            _work(p, rng, msg["appointment_id"], rec.decision.provider_id, at)
    return {"dispatched": dispatched, "targets": targets, "cycles": cycles, "explained": explained}


def invariants(targets: dict[str, dict[str, int]], floor: int = 5, bound: int = 20) -> dict[str, bool]:
    months = sorted(targets)
    ok_total = all(sum(targets[m].values()) == 100 for m in months)
    ok_bound, ok_floor = True, True
    for before, after in pairwise(months):
        for pid, old in targets[before].items():
            lo, hi = share_bounds(old, bound, floor)
            ok_bound &= lo <= targets[after][pid] <= hi
            ok_floor &= targets[after][pid] >= min(floor, old)
    moved = targets[months[-1]]["swift"] > targets[months[0]]["swift"] > 0 and (
        targets[months[-1]]["slow"] < targets[months[0]]["slow"]
    )
    return {
        "total 100 %": ok_total,
        "each move within ±20 %": ok_bound,
        "nobody below the 5 % floor": ok_floor,
        "shares moved toward the better provider": moved,
    }


def report(result: dict[str, Any]) -> str:
    rows = []
    grades = {c["assessment"].month: {a.provider_id: a for a in c["assessment"].providers} for c in result["cycles"]}
    for month in sorted(result["targets"]):
        got = result["dispatched"].get(month, Counter())
        total = sum(got.values())
        for pid in PROVIDERS:
            a = grades.get(month, {}).get(pid)
            rows.append(
                [
                    month,
                    pid,
                    f"{result['targets'][month][pid]} %",
                    f"{100 * got[pid] / total:.1f} % ({got[pid]})" if total else "-",
                    f"{100 * a.on_time_rate:.1f} %" if a and a.on_time_rate is not None else "-",
                    f"{a.average_rating} (n={a.rating_sample})" if a else "-",
                    f"{a.score} {a.grade}" if a else "-",
                ]
            )
    checks = invariants(result["targets"])
    lines = [
        f"{len(PROVIDERS)} providers in district 310115, {ORDERS_PER_DAY} orders a day for {DAYS} days from "
        f"{START}; on-time chance per node / mean rating / complaint chance: "
        + ", ".join(f"{k} {v[0]:.0%} / {v[1]} / {v[2]:.0%}" for k, v in PROVIDERS.items())
        + ". Each month's target share comes from the assessment of the month before (applied by one staff "
        "member, approved by another); the dispatched share is what the dispatch consumer did that month.",
        "",
        table(
            [
                "month",
                "provider",
                "target share",
                "dispatched",
                "on time (assessed)",
                "rating (assessed)",
                "score, grade",
            ],
            rows,
        ),
        "",
        *[f"- {name}: {'yes' if ok else 'NO'}" for name, ok in checks.items()],
        f'- a May order\'s dispatch explanation names: "{result["explained"]}"',
    ]
    return "\n".join(lines)


def main() -> int:
    result = simulate()
    write(
        "quality", "Quality loop: monthly grades steer dispatch shares (60 days, in-process)", report(result), COMMAND
    )
    return 0 if all(invariants(result["targets"]).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
