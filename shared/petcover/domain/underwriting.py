"""Underwriting engine: may this insured be covered by this product and plan?

``check`` lists every failed rule (so the person can fix everything at once); ``assert_insurable``
turns a non-empty list into a 422 ``UNDERWRITING_REFUSED``.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import ConfigDict

from petcover.domain import calendar
from petcover.domain.catalog import Benefit, InsuredFacts, ProductVersion, UnderwritingRules
from petcover.errors import BusinessRuleViolation, InvalidInput
from petcover.models.base import Model


class RuleFailure(Model):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    fact: str | None = None  # the InsuredFacts field concerned, so a form can highlight it


_PLURALS = {
    "dog": "Dogs",
    "cat": "Cats",
    "rabbit": "Rabbits",
    "bird": "Birds",
    "fish": "Fish",
    "hamster": "Hamsters",
}


def _species_plural(species: str) -> str:
    return _PLURALS.get(species, f"Pets of species '{species}'")


def _months(n: int) -> str:
    """Human age: '5 months', '2 years', '1 year and 3 months'."""
    years, months = divmod(n, 12)

    def unit(k: int, word: str) -> str:
        return f"{k} {word}" if k == 1 else f"{k} {word}s"

    if years == 0:
        return unit(months, "month")
    if months == 0:
        return unit(years, "year")
    return f"{unit(years, 'year')} and {unit(months, 'month')}"


def _missing(fact: str, what: str) -> RuleFailure:
    return RuleFailure(code="MISSING_FACT", message=f"{what} is required by this product.", fact=fact)


def _sale_failure(product: ProductVersion, today: date) -> RuleFailure | None:
    if product.status == "draft":
        return RuleFailure(code="PRODUCT_NOT_ON_SALE", message="This product is not on sale yet (it is a draft).")
    if product.status == "delisted":
        return RuleFailure(code="PRODUCT_NOT_ON_SALE", message="This product is no longer on sale.")
    on_sale = calendar.day_of(product.published_at) if product.published_at is not None else None
    if on_sale is not None and on_sale > today:
        return RuleFailure(
            code="PRODUCT_NOT_ON_SALE",
            message=f"This product goes on sale on {on_sale.isoformat()}.",
        )
    return None


def _species_failure(rules: UnderwritingRules, facts: InsuredFacts) -> RuleFailure | None:
    if not rules.species:
        return None
    covered = ", ".join(rules.species)
    if facts.species is None:
        return _missing("species", f"The pet's species (one of: {covered})")
    if facts.species not in rules.species:
        return RuleFailure(
            code="SPECIES_NOT_COVERED",
            message=f"{_species_plural(facts.species)} are not covered by this product; covered species: {covered}.",
            fact="species",
        )
    return None


def _age_failure(rules: UnderwritingRules, facts: InsuredFacts) -> RuleFailure | None:
    lo, hi = rules.min_age_months, rules.max_age_months
    if lo is None and hi is None:
        return None
    age = facts.age_months
    if age is None:
        return _missing("age_months", "The pet's age in months")
    if lo is not None and age < lo:
        return RuleFailure(
            code="AGE_TOO_LOW",
            message=f"The pet is {_months(age)} old; this product covers pets from {_months(lo)} old.",
            fact="age_months",
        )
    if hi is not None and age > hi:
        return RuleFailure(
            code="AGE_TOO_HIGH",
            message=f"The pet is {_months(age)} old; this product covers pets up to {_months(hi)} old.",
            fact="age_months",
        )
    return None


def _region_failure(rules: UnderwritingRules, facts: InsuredFacts) -> RuleFailure | None:
    if not rules.regions:
        return None
    prefixes = ", ".join(rules.regions)
    if facts.region is None:
        return _missing("region", "The 6-digit region code of the insured's address")
    if not any(facts.region.startswith(p) for p in rules.regions):
        return RuleFailure(
            code="REGION_NOT_COVERED",
            message=f"Region {facts.region} is not covered by this product; covered region codes "
            f"start with: {prefixes}.",
            fact="region",
        )
    return None


def _active_policies_failure(rules: UnderwritingRules, n: int) -> RuleFailure | None:
    limit = rules.max_active_policies_per_insured
    if limit is None or n < limit:
        return None
    return RuleFailure(
        code="TOO_MANY_ACTIVE_POLICIES",
        message=f"This insured already has {n} active {'policy' if n == 1 else 'policies'} for this "
        f"product; at most {limit} {'is' if limit == 1 else 'are'} allowed.",
        fact="insured_id",
    )


def check(
    product: ProductVersion,
    plan_code: str,
    facts: InsuredFacts,
    active_policies_for_insured: int,
    today: date,
) -> list[RuleFailure]:
    """Every failed underwriting rule, in a stable order; empty means insurable.

    ``active_policies_for_insured`` counts the insured's active policies *of this product*.
    Raises NotFound(PLAN_NOT_FOUND) for an unknown plan (a bad request, not a refusal).
    """
    product.plan(plan_code)
    if active_policies_for_insured < 0:
        raise InvalidInput("The active policy count cannot be negative.", code="INVALID_INPUT")
    rules = product.underwriting
    found = (
        _sale_failure(product, today),
        _species_failure(rules, facts),
        _age_failure(rules, facts),
        _region_failure(rules, facts),
        _active_policies_failure(rules, active_policies_for_insured),
    )
    return [f for f in found if f is not None]


def assert_insurable(
    product: ProductVersion,
    plan_code: str,
    facts: InsuredFacts,
    active_policies_for_insured: int,
    today: date,
) -> None:
    """Raise BusinessRuleViolation(UNDERWRITING_REFUSED) listing every failed rule."""
    failures = check(product, plan_code, facts, active_policies_for_insured, today)
    if failures:
        raise BusinessRuleViolation(
            "This application cannot be accepted: " + " ".join(f.message for f in failures),
            code="UNDERWRITING_REFUSED",
            details=[f.model_dump() for f in failures],
        )


def benefit_available_from(product: ProductVersion, benefit: Benefit, policy_start: date) -> date:
    """First day a benefit may be used: the longer of the product and benefit waiting periods."""
    wait = max(product.underwriting.waiting_period_days, benefit.waiting_period_days)
    return policy_start + timedelta(days=wait)
