from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from petcover.domain.catalog import InsuredFacts, ProductSpec, ProductVersion
from petcover.errors import NotFound
from petcover.seed.products import SEED_PRODUCTS


def spec_dict(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "test-product",
        "name": "Test",
        "kind": "pet_health",
        "plans": [
            {
                "code": "basic",
                "name": "Basic",
                "sum_insured": "1000.00",
                "term_days": 365,
                "base_premium": "100.00",
                "benefits": [
                    {
                        "code": "checkup",
                        "name": "Check-up",
                        "kind": "service_offline",
                        "service_type": "checkup",
                    }
                ],
            }
        ],
        "refund": {"kind": "pro_rata"},
    }
    base.update(over)
    return base


def test_seed_products_validate_and_are_distinct() -> None:
    codes = [p.code for p in SEED_PRODUCTS]
    assert codes == ["pet-health", "return-shipping", "account-security"]
    for spec in SEED_PRODUCTS:
        # Round-trip through JSON as storage does.
        assert ProductSpec.model_validate_json(spec.model_dump_json()) == spec


def test_seed_pet_health_benefits() -> None:
    pet = SEED_PRODUCTS[0]
    assert [p.code for p in pet.plans] == ["basic", "plus"]
    for plan in pet.plans:
        assert plan.benefit("annual-checkup").quota == 1
        assert plan.benefit("annual-checkup").service_type == "checkup"
        assert plan.benefit("medicine-delivery").quota == 6
        assert plan.benefit("medicine-delivery").kind == "service_online"
        assert plan.benefit("treatment").amount_limit == plan.sum_insured
    assert pet.underwriting.species == ["dog", "cat"]
    assert (pet.underwriting.min_age_months, pet.underwriting.max_age_months) == (2, 180)
    assert pet.underwriting.waiting_period_days == 15
    assert pet.refund.kind == "pro_rata" and pet.refund.fee_pct > 0
    assert pet.pricing.factors["region"]["31"] == Decimal("1.2")
    assert pet.pricing.factors["region"]["11"] == Decimal("1.15")


def test_seed_return_shipping_and_account_security() -> None:
    ret = SEED_PRODUCTS[1].plan("standard")
    assert (ret.sum_insured, ret.term_days, ret.base_premium) == (Decimal("25.00"), 90, Decimal("1.50"))
    assert ret.benefits[0].service_type == "return_freight"
    assert SEED_PRODUCTS[1].refund.kind == "none_after_shipped"
    assert SEED_PRODUCTS[1].underwriting.species == []
    acc = SEED_PRODUCTS[2]
    assert acc.free is True and acc.refund.kind == "none"
    assert [(p.code, p.sum_insured, p.base_premium) for p in acc.plans] == [
        ("basic", Decimal("1000.00"), Decimal("0")),
        ("upgrade", Decimal("5000.00"), Decimal("0")),
    ]


def test_version_round_trip_and_back_to_spec() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    v = ProductVersion.from_spec(SEED_PRODUCTS[0], version=3, status="published", published_at=now)
    assert (v.version, v.status, v.published_at) == (3, "published", now)
    assert ProductVersion.model_validate(v.model_dump(mode="json")) == v
    assert v.spec() == SEED_PRODUCTS[0]


def test_unknown_plan_is_not_found() -> None:
    with pytest.raises(NotFound) as e:
        SEED_PRODUCTS[0].plan("gold")
    assert e.value.code == "PLAN_NOT_FOUND"


@pytest.mark.parametrize(
    ("over", "fragment"),
    [
        ({"code": "Bad Code"}, "code"),
        ({"code": "ab"}, "code"),
        ({"extra_field": 1}, "extra_field"),
        ({"plans": []}, "plans"),
        ({"refund": {"kind": "pro_rata", "fee_pct": "101"}}, "fee_pct"),
    ],
)
def test_spec_rejects_bad_fields(over: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as e:
        ProductSpec.model_validate(spec_dict(**over))
    assert fragment in str(e.value)


def test_duplicate_plan_codes_rejected() -> None:
    plan = spec_dict()["plans"][0]
    with pytest.raises(ValidationError, match="duplicate plan codes: basic"):
        ProductSpec.model_validate(spec_dict(plans=[plan, plan]))


def test_duplicate_benefit_codes_rejected() -> None:
    plan = spec_dict()["plans"][0]
    plan["benefits"] = plan["benefits"] * 2
    with pytest.raises(ValidationError, match="duplicate benefit codes: checkup"):
        ProductSpec.model_validate(spec_dict(plans=[plan]))


def test_reimbursement_needs_limit_within_sum_insured() -> None:
    plan = spec_dict()["plans"][0]
    plan["benefits"] = [{"code": "t", "name": "T", "kind": "reimbursement", "service_type": "treatment"}]
    with pytest.raises(ValidationError, match="needs an amount_limit"):
        ProductSpec.model_validate(spec_dict(plans=[plan]))
    plan["benefits"][0]["amount_limit"] = "1000.01"
    with pytest.raises(ValidationError, match="exceeds the sum insured"):
        ProductSpec.model_validate(spec_dict(plans=[plan]))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sum_insured", "0"),
        ("term_days", 0),
        ("term_days", 1101),
        ("base_premium", "-1"),
        ("base_premium", "1.001"),
    ],
)
def test_plan_bounds(field: str, value: Any) -> None:
    plan = spec_dict()["plans"][0]
    plan[field] = value
    with pytest.raises(ValidationError):
        ProductSpec.model_validate(spec_dict(plans=[plan]))


def test_overlapping_age_bands_rejected() -> None:
    pricing = {
        "age_bands": [
            {"name": "young", "min_months": 0, "max_months": 12},
            {"name": "adult", "min_months": 12, "max_months": 100},
        ]
    }
    with pytest.raises(ValidationError, match="age bands young and adult overlap"):
        ProductSpec.model_validate(spec_dict(pricing=pricing))


@pytest.mark.parametrize(
    ("factors", "message"),
    [
        ({"age_band": {"puppy": "1.1"}}, "names no age band"),
        ({"breed_size": {"huge": "1.1"}}, "breed_size factor"),
        ({"region": {"31x": "1.1"}}, "region factor"),
        ({"species": {"Dog": "1.1"}}, "lower-case"),
        ({"species": {"dog": "0"}}, "greater than 0"),
        ({"colour": {"red": "1.1"}}, "colour"),
    ],
)
def test_bad_factor_tables_rejected(factors: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ProductSpec.model_validate(spec_dict(pricing={"factors": factors}))


def test_underwriting_age_range_ordered() -> None:
    with pytest.raises(ValidationError, match="min_age_months is above max_age_months"):
        ProductSpec.model_validate(spec_dict(underwriting={"min_age_months": 10, "max_age_months": 5}))


def test_insured_facts_normalise_and_validate() -> None:
    f = InsuredFacts(insured_id=" pet-1 ", species=" Cat ", region="310115", age_months=3)
    assert (f.insured_id, f.species) == ("pet-1", "cat")
    assert InsuredFacts(insured_id="x", species="  ").species is None
    for bad in (
        {"region": "31011"},
        {"region": "3101150"},
        {"age_months": -1},
        {"age_months": 481},
        {"breed_size": "huge"},
        {"insured_id": ""},
        {"colour": "red"},
    ):
        with pytest.raises(ValidationError):
            InsuredFacts.model_validate({"insured_id": "x", **bad})
