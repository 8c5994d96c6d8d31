"""Trying a draft rule set on synthetic orders before publishing it: no reads, no writes."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from petcover.domain import regions
from petcover.domain.dispatch import NATIONAL_REGION, OrderFacts, RegionRule, RuleSet
from petcover.domain.dispatch_simulation import simulate
from petcover.errors import BusinessRuleViolation
from petcover.models.dispatch import MixEntry, SimulationOut, SimulationRequest
from petcover.ports import Ports
from petcover.services.dispatch.rules import parse_draft


def _entry_for(rule: RegionRule, rules: Sequence[RegionRule]) -> MixEntry | None:
    """A synthetic order that the rule (and no more specific one) resolves."""
    code = rule.region_code
    if code == NATIONAL_REGION:
        taken = {a for r in rules if r.service_type == rule.service_type for a in regions.ancestors(r.region_code)}
        province = next(
            (c for c, d in sorted(regions.table().items()) if d.level == "province" and c not in taken), None
        )
        return MixEntry(service_type=rule.service_type, province=province) if province else None
    chain = regions.ancestors(code)
    if len(chain) == 3:
        return MixEntry(service_type=rule.service_type, province=chain[2], city=chain[1], district=code)
    if len(chain) == 2:
        return MixEntry(service_type=rule.service_type, province=chain[1], city=code)
    return MixEntry(service_type=rule.service_type, province=code)


def simulate_draft(p: Ports, body: SimulationRequest) -> SimulationOut:
    """Run ``body.orders`` synthetic orders against a draft rule set, one after another."""
    rules = parse_draft(body)
    ruleset = RuleSet(
        version=1,
        effective_at=p.now(),
        rules=rules,
        deviation_threshold_pct=body.deviation_threshold_pct,
        daily_target=body.daily_target,
    )
    seed = body.seed if body.seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    mix = body.mix or [e for e in (_entry_for(r, rules) for r in rules) if e is not None]
    if not mix:
        raise BusinessRuleViolation("Give a mix of orders to simulate.", code="EMPTY_MIX")
    facts = [
        OrderFacts(
            order_id=f"sim-{i}",
            service_type=m.service_type,
            province=m.province,
            city=m.city,
            district=m.district,
            national=m.national,
        )
        for i, m in enumerate(mix)
    ]
    picks = rng.choices(facts, weights=[m.weight for m in mix], k=body.orders)
    t0 = time.perf_counter()
    result = simulate(
        ruleset,
        picks,
        rng,
        active_providers=set(body.active_providers) if body.active_providers is not None else None,
        warmup=body.warmup,
    )
    return SimulationOut(
        **result.model_dump(),
        max_final_deviation_pp=result.max_final_deviation_pp,
        seed=seed,
        mix=mix,
        elapsed_ms=int(1000 * (time.perf_counter() - t0)),
    )
