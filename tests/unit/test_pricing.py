from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petcover.domain.catalog import InsuredFacts, ProductSpec, ProductVersion
from petcover.domain.pricing import premium_difference, quote
from petcover.errors import InvalidInput, NotFound
from petcover.seed.products import SEED_PRODUCTS

D = Decimal
PET = ProductVersion.from_spec(SEED_PRODUCTS[0], version=1, status="published")
RETURN = ProductVersion.from_spec(SEED_PRODUCTS[1], version=1, status="published")
ACCOUNT = ProductVersion.from_spec(SEED_PRODUCTS[2], version=1, status="published")


def facts(**kw: Any) -> InsuredFacts:
    return InsuredFacts.model_validate({"insured_id": "pet-1", **kw})


def product(base_premium: Decimal, sum_insured: Decimal = D("1000.00"), **over: Any) -> ProductVersion:
    spec = SEED_PRODUCTS[0].model_dump()
    plan = spec["plans"][0]
    plan.update(base_premium=base_premium, sum_insured=sum_insured, benefits=plan["benefits"][:2])
    spec["plans"] = [plan]
    spec.update(over)
    return ProductVersion.from_spec(ProductSpec.model_validate(spec), version=1)


def test_worked_example_every_factor() -> None:
    q = quote(PET, "basic", facts(species="cat", age_months=200, breed_size="large", region="310115"))
    # 399.00 x cat 0.9 x geriatric 1.7 x large 1.25 x Shanghai 1.2 = 915.705 -> 915.71 (half up)
    assert [(ln.dimension, ln.value, ln.factor, ln.rule) for ln in q.lines] == [
        ("species", "cat", D("0.9"), "cat"),
        ("age_band", "geriatric", D("1.7"), "geriatric"),
        ("breed_size", "large", D("1.25"), "large"),
        ("region", "310115", D("1.2"), "31"),
    ]
    assert q.unrounded_premium == D("915.705")
    assert q.premium == D("915.71")
    assert (q.product_code, q.product_version, q.plan_code, q.currency) == ("pet-health", 1, "basic", "CNY")
    assert q.base_premium == D("399.00")


def test_longest_region_prefix_wins() -> None:
    shenzhen = quote(PET, "basic", facts(region="440305"))
    guangzhou = quote(PET, "basic", facts(region="440106"))
    assert shenzhen.lines[-1].rule == "4403" and shenzhen.lines[-1].factor == D("1.15")
    assert guangzhou.lines[-1].rule == "44" and guangzhou.lines[-1].factor == D("1.05")


def test_missing_facts_and_unknown_values_mean_factor_one() -> None:
    q = quote(PET, "basic", facts(species="rabbit", region="650102"))
    assert all(ln.factor == 1 and ln.rule is None for ln in q.lines)
    assert [ln.value for ln in q.lines] == ["rabbit", None, None, "650102"]
    assert q.premium == D("399.00")


def test_product_without_factors_has_no_lines() -> None:
    q = quote(RETURN, "standard", InsuredFacts(insured_id="order-9"))
    assert q.lines == []
    assert q.premium == D("1.50")


def test_contract_multiplier_applied_once_and_rounded_half_up() -> None:
    q = quote(RETURN, "standard", InsuredFacts(insured_id="order-9"), D("0.85"))
    assert q.unrounded_premium == D("1.275")
    assert q.premium == D("1.28")  # ROUND_HALF_UP, not banker's 1.28/1.27
    assert q.contract_multiplier == D("0.85")


def test_rounding_happens_once_at_the_end() -> None:
    # 0.05 x 1.1 x 1.1 = 0.0605 -> 0.06; rounding per step would give 0.06 -> 0.07.
    p = product(D("0.05"), pricing={"factors": {"species": {"dog": D("1.1")}, "breed_size": {"small": D("1.1")}}})
    q = quote(p, "basic", facts(species="dog", breed_size="small"))
    assert q.premium == D("0.06")


def test_free_product_is_zero() -> None:
    q = quote(ACCOUNT, "upgrade", InsuredFacts(insured_id="acct-1"), D("3"))
    assert q.premium == D("0") and q.base_premium == 0
    paid_but_free = product(D("100.00"), free=True)
    assert quote(paid_but_free, "basic", facts(species="dog")).premium == 0


def test_unknown_plan() -> None:
    with pytest.raises(NotFound) as e:
        quote(PET, "gold", facts())
    assert e.value.code == "PLAN_NOT_FOUND"


def test_negative_multiplier_refused() -> None:
    with pytest.raises(InvalidInput) as e:
        quote(PET, "basic", facts(), D("-1"))
    assert e.value.code == "INVALID_MULTIPLIER"


def test_premium_difference_upgrade_and_downgrade() -> None:
    f = facts(species="dog", age_months=24, breed_size="medium", region="110105")
    basic = quote(PET, "basic", f).premium  # 399 x 1.15 = 458.85
    plus = quote(PET, "plus", f).premium  # 899 x 1.15 = 1033.85
    assert (basic, plus) == (D("458.85"), D("1033.85"))
    assert premium_difference(PET, "basic", "plus", f, D(1), D("0.5")) == D("287.50")
    assert premium_difference(PET, "plus", "basic", f, D(1), D("0.5")) == D("-287.50")
    assert premium_difference(PET, "basic", "plus", f, D(1), D("0.333")) == D("191.48")  # 191.475 half up
    assert premium_difference(PET, "plus", "basic", f, D(1), D("0.333")) == D("-191.48")
    assert premium_difference(PET, "basic", "plus", f, D(1), D(0)) == 0
    assert premium_difference(ACCOUNT, "basic", "upgrade", InsuredFacts(insured_id="a"), D(1), D("0.7")) == 0


@pytest.mark.parametrize("fraction", [D("-0.1"), D("1.01"), D("NaN")])
def test_premium_difference_bad_fraction(fraction: Decimal) -> None:
    with pytest.raises(InvalidInput):
        premium_difference(PET, "basic", "plus", facts(), D(1), fraction)


# --- properties -------------------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False, allow_infinity=False)
multipliers = st.decimals(min_value=0, max_value=5, places=4, allow_nan=False, allow_infinity=False)
pet_facts = st.builds(
    InsuredFacts,
    insured_id=st.just("pet-1"),
    species=st.sampled_from([None, "dog", "cat", "rabbit"]),
    breed_size=st.sampled_from([None, "small", "medium", "large"]),
    age_months=st.one_of(st.none(), st.integers(0, 480)),
    region=st.one_of(st.none(), st.sampled_from(["110105", "310115", "440305", "440106", "650102"])),
)


@given(base=money, f=pet_facts, m=multipliers, free=st.booleans())
def test_premium_never_negative_and_in_cents(base: Decimal, f: InsuredFacts, m: Decimal, free: bool) -> None:
    q = quote(product(base, free=free), "basic", f, m)
    assert q.premium >= 0
    assert q.premium == q.premium.quantize(D("0.01"))
    if free:
        assert q.premium == 0


@given(base=money, f=pet_facts, m=multipliers)
def test_each_factor_applied_exactly_once(base: Decimal, f: InsuredFacts, m: Decimal) -> None:
    q = quote(product(base), "basic", f, m)
    expected = q.base_premium * q.contract_multiplier
    for line in q.lines:
        expected *= line.factor
    assert q.unrounded_premium == expected
    assert [ln.dimension for ln in q.lines] == ["species", "age_band", "breed_size", "region"]
    assert abs(q.premium - q.unrounded_premium) <= D("0.005")


@given(a=money, b=money, f=pet_facts, m=multipliers)
def test_premium_monotone_in_base_premium(a: Decimal, b: Decimal, f: InsuredFacts, m: Decimal) -> None:
    lo, hi = sorted((a, b))
    assert quote(product(lo), "basic", f, m).premium <= quote(product(hi), "basic", f, m).premium


@given(
    a=st.decimals(min_value="0.01", max_value=1_000_000, places=2),
    b=st.decimals(min_value="0.01", max_value=1_000_000, places=2),
    rate=st.decimals(min_value=0, max_value="0.2", places=3),
    f=pet_facts,
)
def test_premium_monotone_in_sum_insured(a: Decimal, b: Decimal, rate: Decimal, f: InsuredFacts) -> None:
    # Products whose base premium is a rate on the sum insured (rounded to cents, as ops would).
    def priced(si: Decimal) -> Decimal:
        return quote(product((si * rate).quantize(D("0.01")), sum_insured=si), "basic", f).premium

    lo, hi = sorted((a, b))
    assert priced(lo) <= priced(hi)
