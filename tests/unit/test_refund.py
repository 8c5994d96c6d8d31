from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petcover.domain.catalog import RefundKind, RefundRule
from petcover.domain.refund import refund_amount, unearned_fraction
from petcover.errors import InvalidInput

D = Decimal
START = date(2025, 1, 1)
END = date(2026, 1, 1)  # 365-day term, end exclusive


def rule(kind: RefundKind, fee: str = "0") -> RefundRule:
    return RefundRule(kind=kind, fee_pct=D(fee))


def test_pro_rata_half_term() -> None:
    # Cancel on day 182 of 365 -> 183 unearned days: 365.00 x 183/365 = 183.00
    assert refund_amount(rule("pro_rata"), D("365.00"), START, END, START + timedelta(days=182)) == D("183.00")


def test_pro_rata_with_fee_and_half_up_rounding() -> None:
    # 100 x 100/365 = 27.397...; minus 5 % = 26.027... -> 26.03
    cancel = END - timedelta(days=100)
    assert refund_amount(rule("pro_rata", "5"), D("100.00"), START, END, cancel) == D("26.03")
    # 0.05 x 1/2 = 0.025 -> 0.03 with ROUND_HALF_UP (banker's would give 0.02)
    assert refund_amount(rule("pro_rata"), D("0.05"), START, START + timedelta(days=2), START + timedelta(days=1)) == D(
        "0.03"
    )


def test_pro_rata_edges() -> None:
    r = rule("pro_rata", "10")
    assert refund_amount(r, D("200.00"), START, END, START) == D("180.00")  # cancel on start: all unearned
    assert refund_amount(r, D("200.00"), START, END, START - timedelta(days=5)) == D("180.00")  # before start
    assert refund_amount(r, D("200.00"), START, END, END) == 0
    assert refund_amount(r, D("200.00"), START, END, END + timedelta(days=30)) == 0


def test_none_is_never_refunded() -> None:
    assert refund_amount(rule("none"), D("50.00"), START, END, START - timedelta(days=1)) == 0
    assert refund_amount(rule("none"), D("50.00"), START, END, START + timedelta(days=3)) == 0


def test_none_after_shipped() -> None:
    r = rule("none_after_shipped", "20")
    end = START + timedelta(days=90)
    assert refund_amount(r, D("1.50"), START, end, START + timedelta(days=1), shipped=False) == D("1.20")
    assert refund_amount(r, D("1.50"), START, end, START + timedelta(days=1), shipped=True) == 0


def test_full_minus_fee() -> None:
    assert refund_amount(rule("full"), D("99.99"), START, END, END - timedelta(days=1)) == D("99.99")
    assert refund_amount(rule("full", "100"), D("99.99"), START, END, START) == 0
    assert refund_amount(rule("full", "12.5"), D("80.00"), START, END, START) == D("70.00")


def test_free_premium_refunds_nothing() -> None:
    assert refund_amount(rule("full"), D("0"), START, END, START) == 0


@pytest.mark.parametrize("premium", [D("-1"), D("1.005"), D("NaN")])
def test_bad_premium(premium: Decimal) -> None:
    with pytest.raises(InvalidInput):
        refund_amount(rule("full"), premium, START, END, START)


def test_bad_term() -> None:
    with pytest.raises(InvalidInput) as e:
        refund_amount(rule("pro_rata"), D("1.00"), END, START, START)
    assert e.value.code == "INVALID_TERM"


def test_unearned_fraction() -> None:
    end = START + timedelta(days=4)
    assert [unearned_fraction(START, end, START + timedelta(days=i)) for i in range(-1, 6)] == [
        1,
        1,
        D("0.75"),
        D("0.5"),
        D("0.25"),
        0,
        0,
    ]


# --- properties -------------------------------------------------------------------------------

premiums = st.decimals(min_value=0, max_value=1_000_000, places=2, allow_nan=False, allow_infinity=False)
fees = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
kinds = st.sampled_from(["pro_rata", "none", "none_after_shipped", "full"])


@given(
    kind=kinds,
    fee=fees,
    premium=premiums,
    term=st.integers(1, 1100),
    offset=st.integers(-400, 1500),
    shipped=st.booleans(),
)
def test_refund_bounded(
    kind: RefundKind, fee: Decimal, premium: Decimal, term: int, offset: int, shipped: bool
) -> None:
    r = RefundRule(kind=kind, fee_pct=fee)
    amount = refund_amount(r, premium, START, START + timedelta(days=term), START + timedelta(days=offset), shipped)
    assert 0 <= amount <= premium
    assert amount == amount.quantize(D("0.01"))
    if kind == "none":
        assert amount == 0


@given(
    fee=fees,
    premium=premiums,
    term=st.integers(1, 1100),
    a=st.integers(-30, 1200),
    b=st.integers(-30, 1200),
)
def test_pro_rata_monotone_non_increasing_in_cancel_date(
    fee: Decimal, premium: Decimal, term: int, a: int, b: int
) -> None:
    r = RefundRule(kind="pro_rata", fee_pct=fee)
    end = START + timedelta(days=term)
    early, late = sorted((a, b))
    assert refund_amount(r, premium, START, end, START + timedelta(days=early)) >= refund_amount(
        r, premium, START, end, START + timedelta(days=late)
    )
