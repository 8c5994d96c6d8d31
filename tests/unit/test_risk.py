"""The risk rules engine (domain.risk): each kind of rule, shadow mode, and combined decisions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from petcover.domain import pricing
from petcover.domain.catalog import InsuredFacts, ProductVersion
from petcover.domain.risk import RiskFacts, RiskRule, RuleSet, counter_limits, evaluate, price_factor
from petcover.seed.products import SEED_PRODUCTS


def rule(**kw: Any) -> RiskRule:
    return RiskRule.model_validate(kw)


def facts(**kw: Any) -> RiskFacts:
    return RiskFacts.model_validate({"stage": "underwrite", "holder": "13800000000", "insured": "pet-1", **kw})


BLOCK_HOLDER = rule(
    id="bad-holders", kind="blocklist", stages=["underwrite", "claim"], field="holder", values=["138 0000 0000"]
)
BLOCK_DEVICE = rule(
    id="bad-devices", kind="blocklist", stages=["booking"], field="device", values=["DEV-9"], action="review"
)
BLOCK_ADDRESS = rule(
    id="bad-addr", kind="blocklist", stages=["booking"], field="address", values=["310000 310100 Fraud Rd 1"]
)
POLICIES_PER_DAY = rule(
    id="holder-day", kind="velocity", stages=["underwrite"], counter="policies_per_holder_day", limit=3
)
CLAIMS_30D = rule(
    id="claims-30d", kind="velocity", stages=["claim"], counter="claims_per_insured_30d", limit=2, action="review"
)
REFUNDS = rule(id="refunds", kind="velocity", stages=["underwrite"], counter="refunds_after_claim", limit=1)
BIG_CLAIM = rule(id="big-claim", kind="amount", stages=["claim"], above=Decimal("5000"), action="review")
OLD_DOGS = rule(
    id="old-dogs",
    kind="rate_factor",
    stages=["underwrite"],
    factor=Decimal("1.2"),
    when={"species": "dog", "min_age_months": 96},
)
SHANGHAI = rule(id="sh", kind="rate_factor", stages=["underwrite"], factor=Decimal("1.1"), when={"region_prefix": "31"})


def test_nothing_published_passes_with_no_rule_fired():
    d = evaluate(RuleSet(), facts())
    assert d.outcome == "pass" and d.fired == [] and d.factor == 1 and d.ruleset_version == 0


@pytest.mark.parametrize(
    ("field_facts", "fired"),
    [
        ({"holder": "13800000000"}, True),  # spaces and case do not hide a listed value
        ({"holder": " 138 0000 0000 "}, True),
        ({"holder": "13900000000"}, False),
        ({"holder": None}, False),
    ],
)
def test_a_blocklist_compares_normalised_values(field_facts, fired):
    d = evaluate(RuleSet(version=3, rules=[BLOCK_HOLDER]), facts(**field_facts))
    assert (d.outcome == "refuse") is fired
    assert [f.rule for f in d.fired] == (["bad-holders"] if fired else [])
    assert d.ruleset_version == 3


def test_blocklists_on_device_and_address_apply_to_their_stage_only():
    rules = RuleSet(version=1, rules=[BLOCK_DEVICE, BLOCK_ADDRESS])
    assert evaluate(rules, facts(device="dev-9")).outcome == "pass"  # underwrite: booking rules do not apply
    on_booking = facts(stage="booking", device="dev-9", address="310000 310100 fraud rd 1")
    d = evaluate(rules, on_booking)
    assert d.outcome == "refuse"  # the address refuses, the device only asks for review
    assert {(f.rule, f.action) for f in d.fired} == {("bad-devices", "review"), ("bad-addr", "refuse")}


def test_a_counted_velocity_rule_lets_exactly_the_limit_through():
    rules = RuleSet(version=1, rules=[POLICIES_PER_DAY])
    assert evaluate(rules, facts(counts={"policies_per_holder_day": 2})).outcome == "pass"  # the 3rd
    d = evaluate(rules, facts(counts={"policies_per_holder_day": 3}))  # the 4th
    assert d.outcome == "refuse" and "would be 4, above 3" in d.fired[0].detail


def test_claims_in_30_days_send_the_claim_to_review():
    rules = RuleSet(version=1, rules=[CLAIMS_30D])
    assert evaluate(rules, facts(stage="claim", counts={"claims_per_insured_30d": 1})).outcome == "pass"
    assert evaluate(rules, facts(stage="claim", counts={"claims_per_insured_30d": 2})).outcome == "review"


def test_refunds_after_claims_is_a_history_count_reached_at_its_limit():
    rules = RuleSet(version=1, rules=[REFUNDS])
    assert evaluate(rules, facts(counts={})).outcome == "pass"
    assert evaluate(rules, facts(counts={"refunds_after_claim": 1})).outcome == "refuse"


def test_an_amount_rule_fires_above_its_threshold_only():
    rules = RuleSet(version=1, rules=[BIG_CLAIM])
    assert evaluate(rules, facts(stage="claim", amount=Decimal("5000"))).outcome == "pass"
    d = evaluate(rules, facts(stage="claim", amount=Decimal("5000.01")))
    assert d.outcome == "review" and d.rule_ids("review") == ["big-claim"]


def test_rate_factors_multiply_when_their_conditions_hold():
    rules = RuleSet(version=2, rules=[OLD_DOGS, SHANGHAI])
    young = evaluate(rules, facts(species="dog", age_months=30, region="310115"))
    assert young.factor == Decimal("1.1") and young.rule_ids("rate") == ["sh"]
    old = evaluate(rules, facts(species="dog", age_months=100, region="310115"))
    assert old.factor == Decimal("1.1") * Decimal("1.2") and old.outcome == "pass"
    assert evaluate(rules, facts(species="cat", age_months=100, region="440300")).fired == []


def test_shadow_rules_are_recorded_but_change_nothing():
    shadow_block = BLOCK_HOLDER.model_copy(update={"mode": "shadow"})
    shadow_rate = SHANGHAI.model_copy(update={"mode": "shadow"})
    d = evaluate(RuleSet(version=1, rules=[shadow_block, shadow_rate]), facts(region="310115"))
    assert d.outcome == "pass" and d.factor == 1
    assert [(f.rule, f.shadow) for f in d.fired] == [("bad-holders", True), ("sh", True)]
    assert d.enforced == []


def test_the_most_severe_enforced_action_decides_and_every_fired_rule_is_listed():
    rules = RuleSet(version=4, rules=[BIG_CLAIM, CLAIMS_30D, BLOCK_HOLDER.model_copy(update={"mode": "shadow"})])
    d = evaluate(rules, facts(stage="claim", amount=Decimal("9000"), counts={"claims_per_insured_30d": 5}))
    assert d.outcome == "review"
    assert [f.rule for f in d.fired] == ["big-claim", "claims-30d", "bad-holders"]
    refused = evaluate(RuleSet(version=4, rules=[*rules.rules, BLOCK_HOLDER]), facts(stage="claim"))
    assert refused.outcome == "refuse" and refused.rule_ids("refuse") == ["bad-holders"]


def test_a_quote_sees_only_rate_factors():
    rules = RuleSet(version=1, rules=[BLOCK_HOLDER, SHANGHAI])
    d = price_factor(rules, facts(region="310115"))
    assert d.outcome == "pass" and d.factor == Decimal("1.1")


def test_only_enforced_refusing_counted_rules_limit_the_transaction():
    rules = RuleSet(
        version=1,
        rules=[
            POLICIES_PER_DAY,
            POLICIES_PER_DAY.model_copy(update={"id": "holder-day-2", "limit": 2}),
            POLICIES_PER_DAY.model_copy(update={"id": "holder-day-shadow", "limit": 1, "mode": "shadow"}),
            REFUNDS,
        ],
    )
    assert counter_limits(rules, "underwrite") == {"policies_per_holder_day": 2}
    assert counter_limits(rules, "claim") == {}


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "blocklist", "stages": ["claim"], "field": "holder"},  # no values
        {"kind": "velocity", "stages": ["claim"], "counter": "claims_per_insured_30d"},  # no limit
        {"kind": "amount", "stages": ["claim"]},
        {"kind": "rate_factor", "stages": ["claim"], "factor": "1.1"},  # rates apply to underwriting only
        {"kind": "blocklist", "stages": [], "field": "holder", "values": ["x"]},
    ],
)
def test_an_incomplete_rule_is_refused(bad):
    with pytest.raises(ValidationError):
        RiskRule.model_validate({"id": "r", **bad})


def test_the_risk_factor_is_one_line_of_the_premium_breakdown():
    product = ProductVersion.from_spec(SEED_PRODUCTS[0], version=1, status="published")
    pet = InsuredFacts(insured_id="p", species="dog", breed_size="small", age_months=30, region="310115")
    plain = pricing.quote(product, "basic", pet)
    risky = pricing.quote(product, "basic", pet, risk=(Decimal("1.1"), ["sh"]))
    line = risky.lines[-1]
    assert line.dimension == "risk" and line.factor == Decimal("1.1") and line.rule == "sh"
    assert len(risky.lines) == len(plain.lines) + 1
    assert risky.unrounded_premium == plain.unrounded_premium * Decimal("1.1")
    assert risky.premium == pricing.to_cents(plain.unrounded_premium * Decimal("1.1"))
    assert pricing.quote(product, "basic", pet, risk=(Decimal(1), [])).lines == plain.lines
