"""Quality domain rules: scores and grades from monthly counters, and bounded share moves."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from petcover.domain.quality import MonthCounters, QualityRules, adjust_shares, assess, share_bounds


def counters(**kw) -> MonthCounters:
    base = {"provider_id": "p1", "month": "2026-11", "orders": 100}
    return MonthCounters.model_validate({**base, **kw})


def test_a_month_is_scored_from_its_counters_with_every_input_shown():
    c = counters(
        done={"accepted": 100, "shipped": 80},
        on_time={"accepted": 90, "shipped": 72},
        breaches=10,
        exceptions=5,
        complaints=2,
        rating_sum=450,
        rating_count=100,
    )
    a = assess(c, QualityRules(), 3)
    assert a.on_time_rate == pytest.approx(162 / 180)
    assert [(n.node, n.done, n.on_time, n.rate) for n in a.on_time_by_node] == [
        ("accepted", 100, 90, 0.9),
        ("shipped", 80, 72, 0.9),
    ]
    assert a.breach_count == 10 and a.exception_rate == 0.05 and a.complaint_rate == 0.02
    assert a.average_rating == 4.5 and a.rating_sample == 100
    expected = 40 * 0.9 + 15 * 0.9 + 10 * 0.95 + 15 * 0.98 + 20 * (3.5 / 4)
    assert a.score == pytest.approx(expected, abs=0.01)
    assert a.score == pytest.approx(91.2)
    assert a.grade == "A" and a.multiplier == 1.2 and a.core and a.rules_version == 3
    assert a.weights_used == {"on_time": 40, "breaches": 15, "exceptions": 10, "complaints": 15, "rating": 20}


def test_too_few_ratings_leave_the_rating_out_and_the_weights_are_spread_over_the_rest():
    c = counters(done={"accepted": 100}, on_time={"accepted": 100}, rating_sum=2, rating_count=2)
    a = assess(c, QualityRules(), 1)
    assert a.components["rating"] is None and "rating" not in a.weights_used
    assert a.score == 100.0 and a.grade == "A" and a.core
    assert any("rating left out" in n for n in a.notes)


def test_below_the_minimum_sample_a_provider_is_not_graded_and_keeps_its_share():
    a = assess(counters(orders=3, done={"accepted": 3}, on_time={"accepted": 0}), QualityRules(min_orders=10), 1)
    assert a.score is not None and a.score < 65  # a D score, yet not graded on three orders
    assert a.grade is None and a.multiplier == 1.0 and not a.propose_suspension
    assert any("not graded" in n for n in a.notes)


def test_a_poor_month_grades_d_and_proposes_a_suspension_review():
    c = counters(done={"accepted": 100}, on_time={"accepted": 30}, breaches=70, complaints=30, exceptions=20)
    a = assess(c, QualityRules(), 1)
    assert a.grade == "D" and a.multiplier == 0.8 and a.propose_suspension


@pytest.mark.parametrize(
    "bad",
    [
        {"weights": {"on_time": 50, "rating": 20}},
        {
            "grades": [
                {"grade": "A", "min_score": 90, "multiplier": 1.5},
                {"grade": "B", "min_score": 0, "multiplier": 1},
            ]
        },
        {"grades": [{"grade": "A", "min_score": 90, "multiplier": 1.1}]},
        {"grades": [{"grade": "B", "min_score": 0, "multiplier": 1}, {"grade": "A", "min_score": 90, "multiplier": 1}]},
        {"bound_pct": 30},
    ],
)
def test_rules_that_break_the_bounds_or_leave_scores_ungraded_are_refused(bad):
    with pytest.raises(ValidationError):
        QualityRules.model_validate(bad)


def test_shares_move_toward_the_better_provider_within_the_bound():
    new = adjust_shares({"good": 34, "mid": 33, "poor": 33}, {"good": 1.2, "mid": 1.0, "poor": 0.8})
    assert sum(new.values()) == 100
    assert new["good"] > 34 and new["poor"] < 33
    for pid, old in {"good": 34, "mid": 33, "poor": 33}.items():
        lo, hi = share_bounds(old, 20, 5)
        assert lo <= new[pid] <= hi


def test_a_standby_provider_and_a_single_provider_rule_are_left_alone():
    assert adjust_shares({"a": 100}, {"a": 0.8}) == {"a": 100}
    new = adjust_shares({"a": 60, "b": 40, "standby": 0}, {"a": 1.2, "b": 0.8, "standby": 1.2})
    assert new["standby"] == 0 and sum(new.values()) == 100


def test_the_floor_keeps_a_small_provider_from_being_starved():
    new = adjust_shares({"big": 94, "tiny": 6}, {"big": 1.2, "tiny": 0.8}, floor_pct=5)
    assert new["tiny"] >= 5 and sum(new.values()) == 100


@st.composite
def share_sets(draw):
    n = draw(st.integers(2, 6))
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=n - 1, max_size=n - 1)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    ids = [f"p{i}" for i in range(n)]
    mult = draw(st.lists(st.sampled_from([0.8, 0.9, 1.0, 1.1, 1.2]), min_size=n, max_size=n))
    return dict(zip(ids, parts, strict=True)), dict(zip(ids, mult, strict=True))


@settings(max_examples=300, deadline=None)
@given(share_sets(), st.integers(0, 20), st.integers(0, 20))
def test_adjusted_shares_always_add_to_100_and_stay_within_bounds(data, bound, floor):
    old, mult = data
    new = adjust_shares(old, mult, bound_pct=bound, floor_pct=floor)
    assert sum(new.values()) == 100
    for pid, before in old.items():
        lo, hi = share_bounds(before, bound, floor)
        assert lo <= new[pid] <= hi, (pid, before, new[pid])
        if before == 0:
            assert new[pid] == 0
