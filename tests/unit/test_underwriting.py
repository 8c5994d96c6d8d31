from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from petcover.domain.catalog import InsuredFacts, ProductVersion
from petcover.domain.underwriting import assert_insurable, benefit_available_from, check
from petcover.errors import BusinessRuleViolation, NotFound
from petcover.seed.products import SEED_PRODUCTS

TODAY = date(2025, 6, 1)
PET = ProductVersion.from_spec(SEED_PRODUCTS[0], version=1, status="published")
RETURN = ProductVersion.from_spec(SEED_PRODUCTS[1], version=1, status="published")


def facts(**kw: Any) -> InsuredFacts:
    base: dict[str, Any] = {"insured_id": "pet-1", "species": "dog", "age_months": 24, "region": "310115"}
    return InsuredFacts.model_validate({**base, **kw})


def codes(failures: list[Any]) -> list[str]:
    return [f.code for f in failures]


def test_healthy_adult_dog_is_insurable() -> None:
    assert check(PET, "basic", facts(), 0, TODAY) == []
    assert_insurable(PET, "plus", facts(), 0, TODAY)


def test_species_not_covered_message() -> None:
    [f] = check(PET, "basic", facts(species="rabbit"), 0, TODAY)
    assert f.code == "SPECIES_NOT_COVERED"
    assert f.message == "Rabbits are not covered by this product; covered species: dog, cat."
    assert f.fact == "species"


def test_cats_message_matches_brief_example() -> None:
    dog_only = PET.model_copy(update={"underwriting": PET.underwriting.model_copy(update={"species": ["dog"]})})
    [f] = check(dog_only, "basic", facts(species="cat"), 0, TODAY)
    assert f.message == "Cats are not covered by this product; covered species: dog."


@pytest.mark.parametrize(
    ("age", "code", "message"),
    [
        (1, "AGE_TOO_LOW", "The pet is 1 month old; this product covers pets from 2 months old."),
        (
            181,
            "AGE_TOO_HIGH",
            "The pet is 15 years and 1 month old; this product covers pets up to 15 years old.",
        ),
        (
            194,
            "AGE_TOO_HIGH",
            "The pet is 16 years and 2 months old; this product covers pets up to 15 years old.",
        ),
    ],
)
def test_age_limits(age: int, code: str, message: str) -> None:
    [f] = check(PET, "basic", facts(age_months=age), 0, TODAY)
    assert (f.code, f.message) == (code, message)


@pytest.mark.parametrize("age", [2, 180])
def test_age_limits_are_inclusive(age: int) -> None:
    assert check(PET, "basic", facts(age_months=age), 0, TODAY) == []


def test_region_not_covered() -> None:
    limited = PET.model_copy(update={"underwriting": PET.underwriting.model_copy(update={"regions": ["11", "31"]})})
    assert check(limited, "basic", facts(region="110105"), 0, TODAY) == []
    [f] = check(limited, "basic", facts(region="440305"), 0, TODAY)
    assert f.code == "REGION_NOT_COVERED"
    assert f.message == "Region 440305 is not covered by this product; covered region codes start with: 11, 31."
    [m] = check(limited, "basic", facts(region=None), 0, TODAY)
    assert (m.code, m.fact) == ("MISSING_FACT", "region")


def test_too_many_active_policies() -> None:
    [f] = check(PET, "basic", facts(), 1, TODAY)
    assert f.code == "TOO_MANY_ACTIVE_POLICIES"
    assert f.message == "This insured already has 1 active policy for this product; at most 1 is allowed."


def test_missing_facts_are_failed_rules() -> None:
    failures = check(PET, "basic", InsuredFacts(insured_id="pet-1"), 0, TODAY)
    assert codes(failures) == ["MISSING_FACT", "MISSING_FACT"]
    assert [f.fact for f in failures] == ["species", "age_months"]
    assert failures[0].message == "The pet's species (one of: dog, cat) is required by this product."


def test_every_failed_rule_is_listed() -> None:
    failures = check(PET, "basic", facts(species="bird", age_months=0), 2, TODAY)
    assert codes(failures) == ["SPECIES_NOT_COVERED", "AGE_TOO_LOW", "TOO_MANY_ACTIVE_POLICIES"]


def test_products_without_pet_rules_need_no_pet_facts() -> None:
    assert check(RETURN, "standard", InsuredFacts(insured_id="order-1"), 0, TODAY) == []
    assert codes(check(RETURN, "standard", InsuredFacts(insured_id="order-1"), 1, TODAY)) == [
        "TOO_MANY_ACTIVE_POLICIES"
    ]


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"status": "draft"}, "This product is not on sale yet (it is a draft)."),
        ({"status": "delisted"}, "This product is no longer on sale."),
        ({"published_at": datetime(2025, 6, 2, tzinfo=UTC)}, "This product goes on sale on 2025-06-02."),
    ],
)
def test_product_not_on_sale(update: dict[str, Any], message: str) -> None:
    [f] = check(PET.model_copy(update=update), "basic", facts(), 0, TODAY)
    assert (f.code, f.message) == ("PRODUCT_NOT_ON_SALE", message)


def test_published_today_is_on_sale() -> None:
    # 15:59 UTC is 23:59 in Shanghai: still the business day TODAY
    p = PET.model_copy(update={"published_at": datetime(2025, 6, 1, 15, 59, tzinfo=UTC)})
    assert check(p, "basic", facts(), 0, TODAY) == []


def test_published_after_business_midnight_is_on_sale_the_next_business_day() -> None:
    # 16:00 UTC on June 1st is 00:00 on June 2nd in Shanghai
    p = PET.model_copy(update={"published_at": datetime(2025, 6, 1, 16, tzinfo=UTC)})
    [f] = check(p, "basic", facts(), 0, TODAY)
    assert f.message == "This product goes on sale on 2025-06-02."


def test_unknown_plan_is_not_found() -> None:
    with pytest.raises(NotFound) as e:
        check(PET, "gold", facts(), 0, TODAY)
    assert e.value.code == "PLAN_NOT_FOUND"


def test_assert_insurable_raises_with_all_failures() -> None:
    with pytest.raises(BusinessRuleViolation) as e:
        assert_insurable(PET, "basic", facts(species="rabbit", age_months=300), 0, TODAY)
    err = e.value
    assert err.code == "UNDERWRITING_REFUSED" and err.status == 422
    assert [d["code"] for d in err.details] == ["SPECIES_NOT_COVERED", "AGE_TOO_HIGH"]
    assert "Rabbits are not covered" in err.message and "25 years old" in err.message
    assert err.body()["error"]["details"][0]["fact"] == "species"


def test_benefit_waiting_period_is_the_longer_one() -> None:
    plan = PET.plan("basic")
    checkup = plan.benefit("annual-checkup")
    assert benefit_available_from(PET, checkup, date(2025, 1, 1)) == date(2025, 1, 16)
    long_wait = checkup.model_copy(update={"waiting_period_days": 30})
    assert benefit_available_from(PET, long_wait, date(2025, 1, 1)) == date(2025, 1, 31)
