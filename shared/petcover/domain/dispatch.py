"""Smart dispatch: choose the provider for a service order from ops-maintained share rules.

Pure domain code. The caller passes the rule set in effect, today's counts for the resolved
region+service type (see ``counter_scope``), the active providers and the random source, and
persists the decision and the counter increment itself.

Steps, in order: ``exclusive`` (one eligible exclusive provider takes everything), ``deviation``
(the provider furthest below its target share), ``weighted_random`` (random, weighted by remaining
allocation and tilted by partner weight), ``manual`` (nobody can take it: operations queue plus a
coverage gap).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from petcover.errors import InvalidInput
from petcover.models.base import Model

NATIONAL_REGION = "000000"
REGION_CODE = r"^\d{6}$"
# Floor of the remaining allocation: a provider past its daily plan keeps a tiny chance instead of
# a zero weight (which would break the draw when everybody is past plan).
EPSILON = 1e-3
# Float slack when comparing shares, so an exact tie is not read as "ahead".
_TOLERANCE = 1e-9

Step = Literal["exclusive", "deviation", "weighted_random", "manual"]
Scope = Literal["national", "regional"]


class ProviderShare(Model):
    """One provider's entry in a region+service type rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider_id: str = Field(min_length=1)
    share_pct: int = Field(ge=0, le=100)
    weight: int = Field(ge=0, le=10)  # strategic-partner tilt in the random step
    exclusive: StrictBool = False
    daily_capacity: int = Field(ge=1)  # per region+service type counter, per day
    scope: Scope


class RegionRule(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    region_code: str = Field(pattern=REGION_CODE)  # province, city, district or "000000"
    service_type: str = Field(min_length=1)
    providers: list[ProviderShare]
    local_orders: Literal["by_share", "regional_first", "regional_only"] = "by_share"  # see dispatch_scope


class RuleSet(Model):
    """A versioned set of rules; always valid once built (``validate_rules`` runs on construction)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    effective_at: AwareDatetime
    rules: list[RegionRule]
    deviation_threshold_pct: Decimal | float = 0.5
    daily_target: int = Field(default=1000, ge=1)  # expected orders a day per region+service type
    assessment: str | None = None  # the quality assessment that shaped the shares, when one did

    _index: dict[tuple[str, str], RegionRule] = PrivateAttr(default_factory=dict)

    @field_validator("deviation_threshold_pct")
    @classmethod
    def _threshold_in_range(cls, v: Decimal | float) -> Decimal | float:
        if not 0 <= v < 100:
            raise ValueError("deviation threshold must be between 0 and 100 percentage points")
        return v

    @model_validator(mode="after")
    def _validate_and_index(self) -> RuleSet:
        validate_rules(self.rules)
        self._index = {(r.region_code, r.service_type): r for r in self.rules}
        return self

    def rule_for(self, region_code: str, service_type: str) -> RegionRule | None:
        return self._index.get((region_code, service_type))


class OrderFacts(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: str = Field(min_length=1)
    service_type: str = Field(min_length=1)
    province: str = Field(pattern=REGION_CODE)
    city: str | None = Field(default=None, pattern=REGION_CODE)
    district: str | None = Field(default=None, pattern=REGION_CODE)
    national: bool = False  # national orders may only go to national-scope providers


class Candidate(Model):
    """A provider considered for the order, with the figures the decision used.

    Shares are relative to the providers that could take the order (the pool): when nobody is
    excluded they are the rule's shares and today's actual shares in the region+service type.
    """

    provider_id: str
    target_pct: float
    actual_pct: float
    assigned_today: int
    remaining_capacity: int
    weight: int
    scope: Scope


class Decision(Model):
    order_id: str
    provider_id: str | None
    step: Step
    rule_version: int
    region_code: str | None  # the resolved rule's region; None when no rule covers the order
    service_type: str
    candidates: list[Candidate]
    excluded: dict[str, str] = Field(default_factory=dict)  # provider_id -> why it was left out
    coverage_gap: bool
    reason: str
    assessment: str | None = None  # the quality assessment that shaped the rule version's shares


class ProviderOutcome(Model):
    counter_scope: str
    provider_id: str
    assigned: int
    target_pct: float
    final_pct: float
    worst_abs_deviation_pp: float  # worst |actual - target| once the scope had `warmup` orders


class SimulationResult(Model):
    orders: int
    manual: int
    coverage_gaps: int
    gap_scopes: list[str]
    steps: dict[str, int]
    providers: list[ProviderOutcome]

    @property
    def max_final_deviation_pp(self) -> float:
        return max((abs(p.final_pct - p.target_pct) for p in self.providers), default=0.0)


# --- rules -------------------------------------------------------------------------------------


def validate_rules(rules: Sequence[RegionRule]) -> None:
    """Refuse a rule set whose shares do not add up, or that is ambiguous.

    Raises InvalidInput whose details list one field error per problem, each naming the region and
    service type (and the actual sum for a share error).
    """
    errors: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, rule in enumerate(rules):
        where = f"rules[{i}]"
        ctx = {"region_code": rule.region_code, "service_type": rule.service_type}
        label = f"region {rule.region_code} service {rule.service_type}"
        key = (rule.region_code, rule.service_type)
        if key in seen:
            errors.append(
                {
                    "field": where,
                    "code": "DUPLICATE_RULE",
                    "message": f"{label} is already defined at rules[{seen[key]}]",
                    **ctx,
                }
            )
        else:
            seen[key] = i
        errors.extend(_provider_problems(rule, f"{where}.providers", label, ctx))
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise InvalidInput(f"Dispatch rules refused: {errors[0]['message']}{more}.", details=errors)


def _provider_problems(rule: RegionRule, field: str, label: str, ctx: dict[str, str]) -> list[dict[str, Any]]:
    """Share, exclusivity and duplicate problems within one rule's providers."""
    problems: list[dict[str, Any]] = []
    total = sum(p.share_pct for p in rule.providers)
    if total != 100:
        problems.append(
            {
                "field": field,
                "code": "SHARES_NOT_100",
                "message": f"shares of {label} add up to {total}, not 100",
                "actual_sum": total,
                **ctx,
            }
        )
    exclusives = [p.provider_id for p in rule.providers if p.exclusive]
    if len(exclusives) > 1:
        problems.append(
            {
                "field": field,
                "code": "MULTIPLE_EXCLUSIVE",
                "message": f"{label} has {len(exclusives)} exclusive providers, at most one is allowed",
                "provider_ids": exclusives,
                **ctx,
            }
        )
    ids = [p.provider_id for p in rule.providers]
    duplicates = sorted({pid for pid in ids if ids.count(pid) > 1})
    if duplicates:
        problems.append(
            {
                "field": field,
                "code": "DUPLICATE_PROVIDER",
                "message": f"{label} lists provider(s) {', '.join(duplicates)} more than once",
                "provider_ids": duplicates,
                **ctx,
            }
        )
    return problems


def parse_rules(data: Iterable[Mapping[str, Any]]) -> list[RegionRule]:
    """Build and validate rules from raw input; every problem comes back as one InvalidInput."""
    rules: list[RegionRule] = []
    errors: list[dict[str, Any]] = []
    for i, raw in enumerate(data):
        try:
            rules.append(RegionRule.model_validate(raw))
        except ValidationError as exc:
            errors.extend(
                {
                    "field": ".".join([f"rules[{i}]", *(str(part) for part in err["loc"])]),
                    "code": "INVALID_FIELD",
                    "message": err["msg"],
                }
                for err in exc.errors()
            )
    if errors:
        raise InvalidInput(f"Dispatch rules refused: {errors[0]['field']}: {errors[0]['message']}.", details=errors)
    validate_rules(rules)
    return rules


def ruleset_in_effect(rulesets: Iterable[RuleSet], at: datetime) -> RuleSet | None:
    """The latest rule set already in effect at `at` (highest version wins a tie)."""
    live = [rs for rs in rulesets if rs.effective_at <= at]
    return max(live, key=lambda rs: (rs.effective_at, rs.version), default=None)


class ScheduleEntry(Model):
    """A published version and when it takes effect."""

    version: int
    effective_at: AwareDatetime


def prune_schedule(entries: Sequence[ScheduleEntry], now: datetime) -> list[ScheduleEntry]:
    """Keep what can be in effect from now on: the one in force now and the ones scheduled later.

    Older versions can never be in effect again, since a new version never takes effect in the past.
    """
    live = [e for e in entries if e.effective_at <= now]
    keep = [max(live, key=lambda e: (e.effective_at, e.version))] if live else []
    keep += [e for e in entries if e.effective_at > now]
    return sorted(keep, key=lambda e: e.version)


def changed_scopes(before: Sequence[RegionRule], after: Sequence[RegionRule]) -> dict[str, list[str]]:
    """Counter scopes a new version adds, removes and changes (at most 200 of each)."""
    old = {counter_scope(r): r for r in before}
    new = {counter_scope(r): r for r in after}
    return {
        "added": sorted(set(new) - set(old))[:200],
        "removed": sorted(set(old) - set(new))[:200],
        "changed": sorted(k for k in set(old) & set(new) if old[k] != new[k])[:200],
    }


def region_chain(order: OrderFacts) -> list[str]:
    """Region codes to try, most specific first: district, city, province, national."""
    chain: list[str] = []
    for code in (order.district, order.city, order.province, NATIONAL_REGION):
        if code and code not in chain:
            chain.append(code)
    return chain


def resolve_rule(ruleset: RuleSet, order: OrderFacts) -> RegionRule | None:
    for code in region_chain(order):
        rule = ruleset.rule_for(code, order.service_type)
        if rule is not None:
            return rule
    return None


def counter_scope(rule: RegionRule) -> str:
    """Name of the daily counter the caller reads (and increments) for this rule."""
    return scope_of(rule.region_code, rule.service_type)


def scope_of(region_code: str, service_type: str) -> str:
    """Name of the daily counter of a region+service type."""
    return f"{region_code}#{service_type}"


# --- decision ----------------------------------------------------------------------------------


def decide(
    ruleset: RuleSet,
    order: OrderFacts,
    counts: Mapping[str, int],
    active_providers: Collection[str] | None,
    rng: random.Random,
) -> Decision:
    """Choose a provider for `order`.

    counts: provider_id -> orders assigned today within the resolved rule's ``counter_scope``.
    active_providers: ids allowed to take work now; None means every provider is active.
    """
    rule = resolve_rule(ruleset, order)
    if rule is None:
        return Decision(
            order_id=order.order_id,
            provider_id=None,
            step="manual",
            rule_version=ruleset.version,
            region_code=None,
            service_type=order.service_type,
            candidates=[],
            coverage_gap=True,
            reason=(
                f"No dispatch rule covers {order.service_type} in region {region_chain(order)[0]} "
                "or any region above it, so the order goes to the operations queue."
            ),
        )
    return decide_for_rule(ruleset, rule, order, counts, active_providers, rng)


def decide_for_rule(
    ruleset: RuleSet,
    rule: RegionRule,
    order: OrderFacts,
    counts: Mapping[str, int],
    active_providers: Collection[str] | None,
    rng: random.Random,
) -> Decision:
    """``decide`` once the rule is resolved: exclusive, else deviation, else weighted random."""
    where = f"{rule.service_type} in region {rule.region_code}"
    eligible, excluded = _eligible(rule, order, counts, active_providers)

    # A 0% provider is a standby: it only works when nobody with a share can.
    pool = [p for p in eligible if p.share_pct > 0] or eligible
    for p in eligible:
        if p not in pool:
            excluded[p.provider_id] = "standby (0% share)"

    def made(provider_id: str | None, step: Step, candidates: list[Candidate], reason: str) -> Decision:
        return Decision(
            order_id=order.order_id,
            provider_id=provider_id,
            step=step,
            rule_version=ruleset.version,
            region_code=rule.region_code,
            service_type=rule.service_type,
            candidates=candidates,
            excluded=excluded,
            coverage_gap=provider_id is None,
            reason=reason,
            assessment=ruleset.assessment,
        )

    # 1. exclusive: validation allows at most one, but stay safe if handed an unvalidated rule.
    exclusives = [p for p in eligible if p.exclusive]
    if len(exclusives) == 1:
        chosen = exclusives[0]
        return made(
            chosen.provider_id,
            "exclusive",
            _candidates(eligible, counts),
            f"{chosen.provider_id} is the exclusive provider for {where} and has "
            f"{chosen.daily_capacity - _assigned(counts, chosen)} orders of capacity left today.",
        )

    if not pool:
        return made(
            None,
            "manual",
            [],
            f"No provider can take {where} (all full, inactive or out of scope), "
            "so the order goes to the operations queue.",
        )

    candidates = _candidates(pool, counts)
    provider_id, step, reason = _by_share(ruleset, order, candidates, where, rng)
    return made(provider_id, step, candidates, reason)


def _eligible(
    rule: RegionRule,
    order: OrderFacts,
    counts: Mapping[str, int],
    active_providers: Collection[str] | None,
) -> tuple[list[ProviderShare], dict[str, str]]:
    """The rule's providers that may take the order, and why each of the others may not."""
    excluded: dict[str, str] = {}
    eligible: list[ProviderShare] = []
    for p in rule.providers:
        if active_providers is not None and p.provider_id not in active_providers:
            excluded[p.provider_id] = "inactive"
        elif _assigned(counts, p) >= p.daily_capacity:
            excluded[p.provider_id] = "at full daily capacity"
        elif order.national and p.scope != "national":
            excluded[p.provider_id] = "regional provider cannot take a national order"
        else:
            eligible.append(p)
    return eligible, excluded


def _by_share(
    ruleset: RuleSet, order: OrderFacts, candidates: list[Candidate], where: str, rng: random.Random
) -> tuple[str, Step, str]:
    """Steps 2 and 3 over a non-empty pool: (provider, step, reason)."""
    threshold = float(ruleset.deviation_threshold_pct)

    # Local orders prefer regional providers: rank 0 sorts first.
    def preference(c: Candidate) -> int:
        return 0 if order.national or c.scope == "regional" else 1

    # 2. deviation: the provider furthest below target, if beyond the threshold.
    due = [c for c in candidates if c.target_pct - c.actual_pct > threshold]
    if due:
        best = min(due, key=lambda c: (c.actual_pct - c.target_pct, preference(c), -c.weight, c.provider_id))
        return (
            best.provider_id,
            "deviation",
            f"{best.provider_id} was furthest below its target share for {where} "
            f"({best.actual_pct:.2f}% against {best.target_pct:.2f}%).",
        )

    # 3. weighted random among providers not ahead of target (so the partner tilt cannot push
    # anyone past it), preferring regional ones for a local order.
    draw = [c for c in candidates if c.actual_pct <= c.target_pct + _TOLERANCE] or candidates
    preferred = [c for c in draw if preference(c) == 0]
    draw = preferred or draw
    weights = [
        max(ruleset.daily_target * c.target_pct / 100 - c.assigned_today, EPSILON) * (1 + c.weight / 10) for c in draw
    ]
    chosen = rng.choices(draw, weights=weights, k=1)[0]
    return (
        chosen.provider_id,
        "weighted_random",
        f"No provider was more than {threshold:g} pp below target for {where}, so "
        f"{chosen.provider_id} was drawn at random weighted by remaining allocation and partner weight.",
    )


def _assigned(counts: Mapping[str, int], p: ProviderShare) -> int:
    return max(0, counts.get(p.provider_id, 0))


def _candidates(pool: Sequence[ProviderShare], counts: Mapping[str, int]) -> list[Candidate]:
    """Target and actual shares relative to the pool, so excluded providers' shares are spread
    over the rest in proportion to their own shares."""
    share_sum = sum(p.share_pct for p in pool)
    total = sum(_assigned(counts, p) for p in pool)
    out: list[Candidate] = []
    for p in pool:
        assigned = _assigned(counts, p)
        out.append(
            Candidate(
                provider_id=p.provider_id,
                target_pct=100 * p.share_pct / share_sum if share_sum else 100 / len(pool),
                actual_pct=100 * assigned / total if total else 0.0,
                assigned_today=assigned,
                remaining_capacity=p.daily_capacity - assigned,
                weight=p.weight,
                scope=p.scope,
            )
        )
    return out
