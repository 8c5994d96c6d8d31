"""Which insurer underwrites an order: pure routing over a product's insurer channels.

A product names its insurer channels (``RoutingRules``). Each order goes through these steps, and
the decision keeps one line per step so a person can read why (``RoutingDecision.explanation``):

1. insurers whose circuit is open (recent timeouts or errors) are set aside (health-based failover);
2. a channel pinned to an insurer gets that insurer while it is healthy;
3. an insurer still short of its minimum monthly volume gets the order (the largest shortfall first);
4. otherwise the strategy: ``weight`` keeps each insurer's share of this month's orders closest to
   its weight (the insurer furthest below its target share gets the order, so the shares converge
   on the weights without randomness), ``rate`` takes the lowest rate (then the highest weight).

The other healthy insurers follow as the failover order; the order is only passed on to one of
them when the chosen insurer has definitely not issued (``services.insurers``).

``INHOUSE`` is the platform underwriting as its own insurer (what petcover did before insurer
channels existed): a product without routing rules is underwritten in-house.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from petcover.models.base import Model

INHOUSE = "petcover"

InsurerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Strategy = Literal["weight", "rate"]
Reason = Literal["inhouse_default", "pinned", "minimum_volume", "weight", "lowest_rate", "failover"]


class InsurerRoute(Model):
    """One insurer channel of a product."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    insurer_id: InsurerId = Field(description=f"An insurer partner id, or '{INHOUSE}' for in-house underwriting.")
    weight: Annotated[int, Field(ge=0, le=10_000)] = Field(
        1, description="Share of orders under the weight strategy; 0: failover only."
    )
    rate_pct: Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)] | None = Field(
        None,
        description="The insurer's rate for this product (percent of premium): the rate strategy takes the lowest.",
    )
    min_monthly_volume: Annotated[int, Field(ge=0, le=10_000_000)] = Field(
        0, description="Orders this insurer gets each month before the strategy applies."
    )


class RoutingRules(Model):
    """A product's insurer channels and how orders are shared between them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: Strategy = "weight"
    routes: list[InsurerRoute] = Field(min_length=1, max_length=20)
    pinned: dict[str, InsurerId] = Field(
        default_factory=dict, description="Channel id -> the insurer that channel's orders go to."
    )

    @model_validator(mode="after")
    def _consistent(self) -> RoutingRules:
        """Each insurer appears once in routes; pinned insurers are among the routes; with the weight
        strategy at least one route has a weight above 0."""
        ids = [r.insurer_id for r in self.routes]
        if len(set(ids)) != len(ids):
            raise ValueError("an insurer may appear only once in routes")
        missing = sorted({i for i in self.pinned.values() if i not in ids})
        if missing:
            raise ValueError(f"pinned insurers must be among the routes: {', '.join(missing)}")
        if self.strategy == "weight" and not any(r.weight for r in self.routes):
            raise ValueError("at least one route needs a weight above 0")
        return self

    def route(self, insurer_id: str) -> InsurerRoute | None:
        return next((r for r in self.routes if r.insurer_id == insurer_id), None)


class CandidateView(Model):
    insurer_id: str
    healthy: bool
    month_count: int
    weight: int
    target_share: float | None = None
    rate_pct: Decimal | None = None


class RoutingDecision(Model):
    """The chosen insurer, why, and who is next if it definitely does not issue."""

    insurer_id: str
    reason: Reason
    explanation: list[str]
    fallbacks: list[str] = Field(default_factory=list)
    candidates: list[CandidateView] = Field(default_factory=list)
    rules_version: int | None = None


def inhouse_default() -> RoutingDecision:
    return RoutingDecision(
        insurer_id=INHOUSE,
        reason="inhouse_default",
        explanation=["The product has no insurer channels: underwritten in-house by the platform."],
    )


def _target(route: InsurerRoute, total_weight: int) -> float:
    return route.weight / total_weight if total_weight else 0.0


def _by_weight(routes: list[InsurerRoute], counts: dict[str, int]) -> list[InsurerRoute]:
    """Furthest below its target share first: deficit = target x (orders + 1) - own orders."""
    total_weight = sum(r.weight for r in routes)
    n = sum(counts.get(r.insurer_id, 0) for r in routes) + 1
    weighted = [r for r in routes if r.weight > 0]
    rest = [r for r in routes if r.weight == 0]
    weighted.sort(
        key=lambda r: (-(_target(r, total_weight) * n - counts.get(r.insurer_id, 0)), -r.weight, r.insurer_id)
    )
    return weighted + rest


def _by_rate(routes: list[InsurerRoute]) -> list[InsurerRoute]:
    def key(r: InsurerRoute) -> tuple[int, Decimal, int, str]:
        return (r.rate_pct is None, r.rate_pct or Decimal(0), -r.weight, r.insurer_id)

    return sorted(routes, key=key)


def _short_of_minimum(routes: list[InsurerRoute], counts: dict[str, int]) -> list[InsurerRoute]:
    short = [r for r in routes if counts.get(r.insurer_id, 0) < r.min_monthly_volume]
    return sorted(short, key=lambda r: (counts.get(r.insurer_id, 0) / r.min_monthly_volume, r.insurer_id))


def _candidates(rules: RoutingRules, counts: dict[str, int], healthy: dict[str, bool]) -> list[CandidateView]:
    total_weight = sum(r.weight for r in rules.routes)
    return [
        CandidateView(
            insurer_id=r.insurer_id,
            healthy=healthy.get(r.insurer_id, True),
            month_count=counts.get(r.insurer_id, 0),
            weight=r.weight,
            target_share=round(_target(r, total_weight), 4) if rules.strategy == "weight" else None,
            rate_pct=r.rate_pct,
        )
        for r in rules.routes
    ]


def _pick(
    rules: RoutingRules,
    channel_id: str,
    up: list[InsurerRoute],
    ordered: list[InsurerRoute],
    counts: dict[str, int],
    lines: list[str],
) -> tuple[InsurerRoute, Reason]:
    """Steps 2 to 4 of the module docstring; appends the line that explains the choice."""
    pinned = rules.pinned.get(channel_id)
    pinned_route = next((r for r in up if r.insurer_id == pinned), None) if pinned else None
    if pinned_route is not None:
        lines.append(f"Channel {channel_id} is pinned to insurer {pinned}.")
        return pinned_route, "pinned"
    if pinned:
        lines.append(f"Channel {channel_id} is pinned to insurer {pinned}, which is unhealthy: routing as usual.")
    short = _short_of_minimum(up, counts)
    if short:
        chosen = short[0]
        got = counts.get(chosen.insurer_id, 0)
        lines.append(
            f"Insurer {chosen.insurer_id} has {got} of its minimum {chosen.min_monthly_volume} orders this month."
        )
        return chosen, "minimum_volume"
    chosen = ordered[0]
    if rules.strategy == "rate":
        lines.append(f"Insurer {chosen.insurer_id} has the lowest rate ({chosen.rate_pct}%).")
        return chosen, "lowest_rate"
    got = counts.get(chosen.insurer_id, 0)
    total = sum(counts.get(r.insurer_id, 0) for r in up)
    lines.append(
        f"Weight {chosen.weight} of {sum(r.weight for r in up)}: insurer {chosen.insurer_id} has "
        f"{got} of {total} orders this month, the furthest below its share."
    )
    return chosen, "weight"


def choose(
    rules: RoutingRules,
    channel_id: str,
    month_counts: dict[str, int],
    healthy: dict[str, bool],
    *,
    rules_version: int | None = None,
) -> RoutingDecision:
    """The insurer for one order of ``channel_id``; ``month_counts``: orders each got this month."""
    lines: list[str] = []
    up = [r for r in rules.routes if healthy.get(r.insurer_id, True)]
    down = [r for r in rules.routes if not healthy.get(r.insurer_id, True)]
    if down:
        names = ", ".join(r.insurer_id for r in down)
        lines.append(f"Set aside as unhealthy (recent timeouts or errors): {names}.")
    if not up:
        # Every insurer is unhealthy: try them all anyway rather than refuse the order outright.
        lines.append("No insurer is healthy: trying them in the usual order.")
        up, down = list(rules.routes), []
    ordered = _by_weight(up, month_counts) if rules.strategy == "weight" else _by_rate(up)
    chosen, reason = _pick(rules, channel_id, up, ordered, month_counts, lines)
    # Unhealthy insurers come last: better a slow insurer than no policy.
    fallbacks = [r.insurer_id for r in [*ordered, *down] if r.insurer_id != chosen.insurer_id]
    if fallbacks:
        lines.append(f"If it definitely does not issue: {', '.join(fallbacks)}, in that order.")
    return RoutingDecision(
        insurer_id=chosen.insurer_id,
        reason=reason,
        explanation=lines,
        fallbacks=fallbacks,
        candidates=_candidates(rules, month_counts, healthy),
        rules_version=rules_version,
    )
