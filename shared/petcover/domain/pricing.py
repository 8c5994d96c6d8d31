"""Rating engine: premium = base premium x one factor per priced dimension x contract multiplier.

Pure functions. The unrounded premium is kept on the quote so the breakdown can be verified;
the premium itself is rounded to cents exactly once, at the end.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import ConfigDict

from petcover.domain.catalog import DIMENSIONS, Dimension, InsuredFacts, PricingRules, ProductVersion
from petcover.errors import InvalidInput
from petcover.models.base import Model

CENT = Decimal("0.01")
ONE = Decimal(1)
ZERO = Decimal(0)


class QuoteLine(Model):
    model_config = ConfigDict(frozen=True)

    dimension: Dimension | Literal["risk"]  # "risk": the risk rules' rate factors (domain.risk)
    value: str | None  # the insured's value for the dimension (band name for age); None if unknown
    factor: Decimal
    rule: str | None = None  # the factor-table key that matched (e.g. region prefix "31"); None = default 1


class Quote(Model):
    model_config = ConfigDict(frozen=True)

    product_code: str
    product_version: int
    plan_code: str
    base_premium: Decimal
    lines: list[QuoteLine]
    contract_multiplier: Decimal
    unrounded_premium: Decimal
    premium: Decimal
    currency: Literal["CNY"] = "CNY"


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _match_region(table: dict[str, Decimal], region: str) -> str | None:
    # Longest prefix wins, so a district rate ("310115") overrides its city ("31").
    hits = [k for k in table if region.startswith(k)]
    return max(hits, key=len) if hits else None


def _line(pricing: PricingRules, dim: Dimension, facts: InsuredFacts) -> QuoteLine:
    table = pricing.factors.get(dim, {})
    value: str | None
    key: str | None
    if dim == "species":
        value = facts.species
        key = value if value in table else None
    elif dim == "breed_size":
        value = facts.breed_size
        key = value if value in table else None
    elif dim == "age_band":
        band = pricing.age_band_for(facts.age_months) if facts.age_months is not None else None
        value = band.name if band else None
        key = value if value in table else None
    else:  # region
        value = facts.region
        key = _match_region(table, value) if value else None
    return QuoteLine(dimension=dim, value=value, factor=table[key] if key else ONE, rule=key)


def factor_lines(pricing: PricingRules, facts: InsuredFacts) -> list[QuoteLine]:
    """One line per dimension the product prices on, each applied exactly once."""
    return [_line(pricing, dim, facts) for dim in DIMENSIONS if dim in pricing.factors]


def quote(
    product: ProductVersion,
    plan_code: str,
    facts: InsuredFacts,
    contract_multiplier: Decimal = ONE,
    risk: tuple[Decimal, list[str]] | None = None,
) -> Quote:
    """Price one plan for one insured. Raises NotFound(PLAN_NOT_FOUND) for an unknown plan.

    ``risk``: the product of the enforced risk rate factors and the rules behind it; it is one more
    line of the breakdown (dimension ``risk``), applied once like every other line."""
    plan = product.plan(plan_code)
    multiplier = Decimal(contract_multiplier)
    if not multiplier.is_finite() or multiplier < 0:
        raise InvalidInput(
            f"The contract multiplier must be zero or positive, got {contract_multiplier}.",
            code="INVALID_MULTIPLIER",
        )
    lines = factor_lines(product.pricing, facts)
    if risk is not None and risk[1]:
        lines.append(QuoteLine(dimension="risk", value=",".join(risk[1]), factor=risk[0], rule=",".join(risk[1])))
    # Free cover is priced at 0 whatever the plan's base premium says.
    base = ZERO if product.free else plan.base_premium
    raw = base * multiplier
    for line in lines:
        raw *= line.factor
    return Quote(
        product_code=product.code,
        product_version=product.version,
        plan_code=plan.code,
        base_premium=base,
        lines=lines,
        contract_multiplier=multiplier,
        unrounded_premium=raw,
        premium=max(ZERO, to_cents(raw)),
    )


def premium_difference(
    product: ProductVersion,
    old_plan: str,
    new_plan: str,
    facts: InsuredFacts,
    multiplier: Decimal,
    remaining_fraction: Decimal,
    risk: tuple[Decimal, list[str]] | None = None,
) -> Decimal:
    """Pro-rata premium owed (positive) or refunded (negative) when switching plans mid-term.

    Uses the rounded premiums of both plans (what the customer is charged for a full term, each
    with the same risk rate factors as ``quote`` applies), times the unexpired fraction of the
    term, rounded to cents once.
    """
    fraction = Decimal(remaining_fraction)
    if not fraction.is_finite() or not ZERO <= fraction <= ONE:
        raise InvalidInput(
            f"The remaining fraction of the term must be between 0 and 1, got {remaining_fraction}.",
            code="INVALID_FRACTION",
        )
    old = quote(product, old_plan, facts, multiplier, risk).premium
    new = quote(product, new_plan, facts, multiplier, risk).premium
    return to_cents((new - old) * fraction)
