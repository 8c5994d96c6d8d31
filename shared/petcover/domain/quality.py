"""Service quality of providers: the monthly assessment and what its grade does to dispatch.

Pure. The inputs are a provider's monthly counters (``MonthCounters``, moved when the events
happen: a work-order node, a breach, an exception, a complaint, a rating); the rules are a
versioned ``QualityRules``. ``assess`` turns one into a score and a grade with every input shown;
``adjust_shares`` turns grades into the next dispatch shares of a rule: each provider's share
moves by its grade's multiplier, bounded to ``bound_pct`` either way and never below the floor,
and the shares still add up to 100.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from petcover.domain.sla import LimitNode
from petcover.models.base import Model

Component = Literal["on_time", "breaches", "exceptions", "complaints", "rating"]
COMPONENTS: tuple[Component, ...] = ("on_time", "breaches", "exceptions", "complaints", "rating")
TIMED_NODES: tuple[LimitNode, ...] = (
    "accepted",
    "appointment_confirmed",
    "shipped",
    "served",
    "completed",
    "exception_handled",
)
DEFAULT_WEIGHTS: dict[Component, int] = {
    "on_time": 40,
    "breaches": 15,
    "exceptions": 10,
    "complaints": 15,
    "rating": 20,
}
MAX_BOUND_PCT = 20  # a grade never moves a share by more than this, either way
MAX_DEDUCTION_PCT = 30  # a penalty grade never deducts more than this share of the month's fees


class GradeBand(Model):
    """Scores from ``min_score`` up earn ``grade``; what the grade does to dispatch and the tier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grade: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9+-]{0,3}$")]
    min_score: Annotated[float, Field(ge=0, le=100)]
    multiplier: Annotated[float, Field(ge=1 - MAX_BOUND_PCT / 100, le=1 + MAX_BOUND_PCT / 100)]
    core: bool = False  # core-provider tier: its SLA limits are stricter (core_stricter_pct)
    propose_suspension: bool = False  # a review item for ops, never an automatic suspension
    deduction_pct: Annotated[float, Field(ge=0, le=MAX_DEDUCTION_PCT)] = 0  # of the month's provider fees


class QualityRules(Model):
    """Weights, grade bands and minimum samples; versioned by the caller."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weights: dict[Component, Annotated[int, Field(ge=0, le=100)]] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    grades: list[GradeBand] = Field(
        default_factory=lambda: [
            GradeBand(grade="A", min_score=90, multiplier=1.2, core=True),
            GradeBand(grade="B", min_score=80, multiplier=1.1),
            GradeBand(grade="C", min_score=65, multiplier=1.0),
            GradeBand(grade="D", min_score=0, multiplier=0.8, propose_suspension=True, deduction_pct=5),
        ],
        min_length=1,
        max_length=10,
    )
    min_orders: Annotated[int, Field(ge=1, le=100_000)] = 10  # fewer: not graded, shares unchanged
    min_ratings: Annotated[int, Field(ge=1, le=100_000)] = 5  # fewer: the rating is left out of the score
    bound_pct: Annotated[int, Field(ge=0, le=MAX_BOUND_PCT)] = MAX_BOUND_PCT
    floor_pct: Annotated[int, Field(ge=0, le=50)] = 5  # no provider with a share is pushed below this

    @model_validator(mode="after")
    def _check(self) -> QualityRules:
        """Weights add up to 100; grade bands are listed from the highest min_score down, each once,
        the last starting at 0; grade names are unique."""
        if sum(self.weights.values()) != 100:
            raise ValueError(f"weights add up to {sum(self.weights.values())}, not 100")
        scores = [g.min_score for g in self.grades]
        if scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores):
            raise ValueError("grade bands must be listed from the highest min_score down, each once")
        if scores[-1] != 0:
            raise ValueError("the last grade band must start at min_score 0, so every score has a grade")
        names = [g.grade for g in self.grades]
        if len(set(names)) != len(names):
            raise ValueError("grade names must be unique")
        return self

    def band(self, grade: str | None) -> GradeBand | None:
        return next((g for g in self.grades if g.grade == grade), None)


class MonthCounters(Model):
    """A provider's events in one business month, as the counters recorded them."""

    model_config = ConfigDict(frozen=True)

    provider_id: str
    month: str
    orders: int = 0  # work orders assigned to it
    done: dict[str, int] = Field(default_factory=dict)  # node -> nodes reached that had a due time
    on_time: dict[str, int] = Field(default_factory=dict)  # node -> of those, reached by the due time
    breaches: int = 0
    exceptions: int = 0
    complaints: int = 0
    rating_sum: int = 0
    rating_count: int = 0


class NodeRate(Model):
    node: str
    done: int
    on_time: int
    rate: float | None


class Assessment(Model):
    """One provider's month: the inputs, each component, the score and the grade."""

    provider_id: str
    month: str
    rules_version: int
    inputs: MonthCounters
    on_time_by_node: list[NodeRate]
    on_time_rate: float | None
    breach_count: int
    exception_rate: float | None
    complaint_rate: float | None
    average_rating: float | None
    rating_sample: int
    components: dict[str, float | None] = Field(description="Each component as 0..1 (None: not enough data)")
    weights_used: dict[str, int]
    score: float | None
    grade: str | None = Field(description="None when the month has fewer orders than the minimum sample")
    multiplier: float
    core: bool
    propose_suspension: bool
    notes: list[str]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


def _components(c: MonthCounters, rules: QualityRules) -> tuple[dict[str, float | None], list[str]]:
    notes: list[str] = []
    done, on_time = sum(c.done.values()), sum(c.on_time.values())
    avg = c.rating_sum / c.rating_count if c.rating_count else None
    rating: float | None = None
    if avg is not None and c.rating_count >= rules.min_ratings:
        rating = (avg - 1) / 4
    else:
        notes.append(f"rating left out: {c.rating_count} rating(s), fewer than the minimum {rules.min_ratings}")
    orders = max(c.orders, 1)
    comps: dict[str, float | None] = {
        "on_time": _ratio(on_time, done),
        "breaches": max(0.0, 1 - c.breaches / orders),
        "exceptions": max(0.0, 1 - c.exceptions / orders),
        "complaints": max(0.0, 1 - c.complaints / orders),
        "rating": rating,
    }
    if comps["on_time"] is None:
        notes.append("on-time rate left out: no timed node was reached this month")
    return comps, notes


def assess(c: MonthCounters, rules: QualityRules, rules_version: int) -> Assessment:
    """Score = the weighted mean of the components that have data, times 100; then the grade."""
    comps, notes = _components(c, rules)
    weights: dict[str, int] = {str(k): v for k, v in rules.weights.items()}
    used = {k: weights.get(k, 0) for k, v in comps.items() if v is not None and weights.get(k, 0) > 0}
    total = sum(used.values())
    score = round(100 * sum(w * (comps[k] or 0.0) for k, w in used.items()) / total, 2) if total else None
    band: GradeBand | None = None
    if c.orders < rules.min_orders:
        notes.append(f"not graded: {c.orders} order(s), fewer than the minimum {rules.min_orders}; shares unchanged")
    elif score is not None:
        band = next(g for g in rules.grades if score >= g.min_score)
    return Assessment(
        provider_id=c.provider_id,
        month=c.month,
        rules_version=rules_version,
        inputs=c,
        on_time_by_node=[
            NodeRate(node=n, done=c.done.get(n, 0), on_time=c.on_time.get(n, 0), rate=_ratio(c.on_time.get(n, 0), d))
            for n in TIMED_NODES
            if (d := c.done.get(n, 0))
        ],
        on_time_rate=comps["on_time"],
        breach_count=c.breaches,
        exception_rate=_ratio(c.exceptions, c.orders),
        complaint_rate=_ratio(c.complaints, c.orders),
        average_rating=round(c.rating_sum / c.rating_count, 3) if c.rating_count else None,
        rating_sample=c.rating_count,
        components=comps,
        weights_used=used,
        score=score,
        grade=band.grade if band else None,
        multiplier=band.multiplier if band else 1.0,
        core=band.core if band else False,
        propose_suspension=band.propose_suspension if band else False,
        notes=notes,
    )


# ---------------------------------------------------------------- shares


def share_bounds(old: int, bound_pct: int, floor_pct: int) -> tuple[int, int]:
    """The whole-number range a provider's share may move to from ``old`` in one step."""
    if old <= 0:
        return 0, 0
    lo = max(math.ceil(old * (100 - bound_pct) / 100 - 1e-9), min(floor_pct, old))
    hi = min(100, math.floor(old * (100 + bound_pct) / 100 + 1e-9))
    return lo, hi


def adjust_shares(
    old: Mapping[str, int], multipliers: Mapping[str, float], *, bound_pct: int = MAX_BOUND_PCT, floor_pct: int = 5
) -> dict[str, int]:
    """New whole-number shares from ``old`` (adding to 100): each scaled by its multiplier (1 when
    absent), renormalised, and held within ``share_bounds``; they still add up to 100."""
    if sum(old.values()) != 100:
        raise ValueError(f"shares add up to {sum(old.values())}, not 100")
    bounds = {k: share_bounds(v, bound_pct, floor_pct) for k, v in old.items()}
    live = [k for k, v in old.items() if v > 0]
    if len(live) < 2:
        return dict(old)
    want = {k: old[k] * multipliers.get(k, 1.0) for k in live}
    fixed: dict[str, float] = {}
    for _ in range(len(live) + 1):  # water-filling: clamp, then spread the rest over the free ones
        free = [k for k in live if k not in fixed]
        room = 100 - sum(fixed.values())
        scale = room / sum(want[k] for k in free) if free else 0
        clamped = False
        for k in free:
            v = want[k] * scale
            lo, hi = bounds[k]
            if v < lo or v > hi:
                fixed[k] = float(lo if v < lo else hi)
                clamped = True
        if not clamped:
            fixed.update({k: want[k] * scale for k in free})
            break
    return _round_to_100({k: fixed.get(k, 0.0) for k in live}, bounds, old)


def _round_to_100(
    values: Mapping[str, float], bounds: Mapping[str, tuple[int, int]], old: Mapping[str, int]
) -> dict[str, int]:
    out = {k: min(max(math.floor(v + 1e-9), bounds[k][0]), bounds[k][1]) for k, v in values.items()}
    frac = sorted(values, key=lambda k: (-(values[k] - math.floor(values[k] + 1e-9)), k))
    while sum(out.values()) < 100:
        k = next((k for k in frac if out[k] < bounds[k][1]), None)
        if k is None:
            break
        out[k] += 1
        frac.remove(k)
        frac.append(k)
    while sum(out.values()) > 100:
        k = next((k for k in reversed(frac) if out[k] > bounds[k][0]), None)
        if k is None:
            break
        out[k] -= 1
    if sum(out.values()) != 100:  # cannot happen: ``old`` itself is within every bound
        return dict(old)
    return {**{k: 0 for k in old}, **out}
