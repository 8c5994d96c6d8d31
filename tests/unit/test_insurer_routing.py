"""Routing between a product's insurers: pure rules, property-tested shares."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from petcover.domain.insurer_routing import INHOUSE, InsurerRoute, RoutingRules, choose


def rules(*routes: tuple[str, int], **kw: object) -> RoutingRules:
    return RoutingRules.model_validate({"routes": [{"insurer_id": i, "weight": w} for i, w in routes], **kw})


def route_many(
    r: RoutingRules, n: int, channel: str = "shop-a", healthy: dict[str, bool] | None = None
) -> Counter[str]:
    counts: Counter[str] = Counter()
    for _ in range(n):
        counts[choose(r, channel, dict(counts), healthy or {}).insurer_id] += 1
    return counts


def test_weights_are_met_exactly_without_randomness():
    got = route_many(rules(("ins_a", 50), ("ins_b", 30), ("ins_c", 20)), 1000)
    assert got == {"ins_a": 500, "ins_b": 300, "ins_c": 200}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=5), st.integers(10, 400))
def test_each_share_stays_within_one_order_of_its_weight(weights: list[int], n: int):
    r = rules(*[(f"ins_{i}", w) for i, w in enumerate(weights)])
    got = route_many(r, n)
    total = sum(weights)
    for i, w in enumerate(weights):
        assert abs(got[f"ins_{i}"] - n * w / total) <= 1.0 + 1e-9


def test_a_weight_of_zero_is_failover_only_and_the_decision_says_who_is_next():
    d = choose(rules(("ins_a", 1), (INHOUSE, 0)), "shop-a", {}, {})
    assert d.insurer_id == "ins_a" and d.reason == "weight" and d.fallbacks == [INHOUSE]
    assert any("furthest below its share" in line for line in d.explanation)


def test_an_unhealthy_insurer_is_set_aside_but_stays_a_last_resort():
    d = choose(rules(("ins_a", 9), ("ins_b", 1)), "shop-a", {}, {"ins_a": False})
    assert d.insurer_id == "ins_b" and d.fallbacks == ["ins_a"]
    assert "unhealthy" in d.explanation[0]
    every_down = choose(rules(("ins_a", 1)), "shop-a", {}, {"ins_a": False})
    assert every_down.insurer_id == "ins_a"  # try it anyway rather than refuse


def test_a_pinned_channel_gets_its_insurer_while_it_is_healthy():
    r = rules(("ins_a", 1), ("ins_b", 1), pinned={"shop-b": "ins_b"})
    assert {choose(r, "shop-b", {"ins_b": 100}, {}).insurer_id for _ in range(3)} == {"ins_b"}
    assert choose(r, "shop-b", {}, {}).reason == "pinned"
    assert choose(r, "shop-b", {}, {"ins_b": False}).insurer_id == "ins_a"
    assert choose(r, "shop-a", {"ins_a": 0, "ins_b": 0}, {}).reason == "weight"


def test_minimum_monthly_volume_comes_before_the_weights():
    r = RoutingRules(
        routes=[
            InsurerRoute(insurer_id="ins_a", weight=99),
            InsurerRoute(insurer_id="ins_b", weight=1, min_monthly_volume=5),
        ]
    )
    got = route_many(r, 5)
    assert got == {"ins_b": 5}
    d = choose(r, "shop-a", {"ins_b": 2}, {})
    assert d.reason == "minimum_volume" and "2 of its minimum 5" in d.explanation[0]


def test_the_rate_strategy_takes_the_lowest_rate():
    r = RoutingRules(
        strategy="rate",
        routes=[
            InsurerRoute(insurer_id="ins_a", rate_pct=Decimal("12.5")),
            InsurerRoute(insurer_id="ins_b", rate_pct=Decimal("9")),
            InsurerRoute(insurer_id=INHOUSE),
        ],
    )
    d = choose(r, "shop-a", {}, {})
    assert (d.insurer_id, d.reason, d.fallbacks) == ("ins_b", "lowest_rate", ["ins_a", INHOUSE])


@pytest.mark.parametrize(
    "body",
    [
        {"routes": []},
        {"routes": [{"insurer_id": "a"}, {"insurer_id": "a"}]},
        {"routes": [{"insurer_id": "a"}], "pinned": {"shop-a": "b"}},
        {"routes": [{"insurer_id": "a", "weight": 0}]},
        {"routes": [{"insurer_id": "a", "weight": -1}]},
    ],
)
def test_rules_that_cannot_route_are_refused(body):
    with pytest.raises(ValidationError):
        RoutingRules.model_validate(body)
