"""Simulated dispatch: ``decide`` over a stream of orders with in-memory daily counts.

Pure domain code, used by ops to try a draft rule set before publishing it and by the tests that
check shares converge.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable

from petcover.domain.dispatch import (
    OrderFacts,
    ProviderOutcome,
    RegionRule,
    RuleSet,
    SimulationResult,
    counter_scope,
    decide,
    decide_for_rule,
    region_chain,
    resolve_rule,
)
from petcover.domain.dispatch_scope import scope_filter


class _Tally:
    """What a simulation has seen so far: per-scope counts, worst deviations, steps, gaps."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.counts: dict[str, dict[str, int]] = {}
        self.rules: dict[str, RegionRule] = {}
        self.worst: dict[tuple[str, str], float] = {}
        self.steps = {"exclusive": 0, "deviation": 0, "weighted_random": 0, "manual": 0}
        self.orders = self.manual = self.gaps = 0
        self.gap_scopes: set[str] = set()

    def assigned(self, scope: str, rule: RegionRule, provider_id: str) -> None:
        """Count one order for the provider; once the scope is past warm-up, track worst deviations."""
        scope_counts = self.counts[scope]
        scope_counts[provider_id] = scope_counts.get(provider_id, 0) + 1
        total = sum(scope_counts.values())
        if total >= self.warmup:
            for p in rule.providers:
                dev = abs(100 * scope_counts.get(p.provider_id, 0) / total - p.share_pct)
                key = (scope, p.provider_id)
                self.worst[key] = max(self.worst.get(key, 0.0), dev)

    def outcomes(self) -> list[ProviderOutcome]:
        outcomes: list[ProviderOutcome] = []
        for scope, rule in sorted(self.rules.items()):
            scope_counts = self.counts[scope]
            total = sum(scope_counts.values())
            for p in rule.providers:
                assigned = scope_counts.get(p.provider_id, 0)
                outcomes.append(
                    ProviderOutcome(
                        counter_scope=scope,
                        provider_id=p.provider_id,
                        assigned=assigned,
                        target_pct=float(p.share_pct),
                        final_pct=100 * assigned / total if total else 0.0,
                        worst_abs_deviation_pp=self.worst.get((scope, p.provider_id), 0.0),
                    )
                )
        return outcomes


def _in_scope(rule: RegionRule, order: OrderFacts, counts: dict[str, int], active: Collection[str] | None) -> set[str]:
    """The active providers the scope filter leaves in (as the consumer does; bindings are not simulated)."""
    ids = {p.provider_id for p in rule.providers if active is None or p.provider_id in active}
    capacity = {p.provider_id: p.daily_capacity for p in rule.providers}
    open_ = {pid for pid in ids if counts.get(pid, 0) < capacity[pid]}
    return ids - set(scope_filter(rule, order, open_))


def simulate(
    ruleset: RuleSet,
    orders: Iterable[OrderFacts],
    rng: random.Random,
    *,
    active_providers: Collection[str] | None = None,
    warmup: int = 100,
) -> SimulationResult:
    """Run `decide` over `orders` one after another with in-memory daily counts.

    Worst deviation is measured against the rule's share once a counter scope holds `warmup`
    orders, since a handful of orders cannot match a percentage.
    """
    tally = _Tally(warmup)
    for order in orders:
        tally.orders += 1
        rule = resolve_rule(ruleset, order)
        if rule is None:
            decision = decide(ruleset, order, {}, active_providers, rng)
        else:
            scope = counter_scope(rule)
            tally.rules[scope] = rule
            scope_counts = tally.counts.setdefault(scope, {})
            decision = decide_for_rule(
                ruleset, rule, order, scope_counts, _in_scope(rule, order, scope_counts, active_providers), rng
            )
        tally.steps[decision.step] += 1
        if decision.provider_id is None:
            tally.manual += 1
        if decision.coverage_gap:
            tally.gaps += 1
            tally.gap_scopes.add(f"{decision.region_code or region_chain(order)[0]}#{order.service_type}")
        if rule is None or decision.provider_id is None:
            continue
        tally.assigned(scope, rule, decision.provider_id)
    return SimulationResult(
        orders=tally.orders,
        manual=tally.manual,
        coverage_gaps=tally.gaps,
        gap_scopes=sorted(tally.gap_scopes),
        steps=tally.steps,
        providers=tally.outcomes(),
    )


def weighted_random_choice(rule: RegionRule, rng: random.Random) -> str:
    """Baseline: pick a provider at random by share only (no counts, capacity or weight)."""
    providers = rule.providers
    return rng.choices(providers, weights=[p.share_pct for p in providers], k=1)[0].provider_id
