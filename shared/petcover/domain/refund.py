"""Refund engine: how much of the premium goes back when a policy is cancelled.

Term convention (``domain.calendar``): cover runs from ``start`` (inclusive) to ``end`` (exclusive), so the term has
``(end - start).days`` days. Cancelling on day D ends cover on D: days D..end-1 are unearned.
The fee is a percentage of the refundable amount (so a refund never turns negative).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from petcover.domain.catalog import RefundRule
from petcover.errors import InvalidInput

CENT = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def _check_term(start: date, end: date) -> None:
    if end <= start:
        raise InvalidInput(f"The policy end {end} must be after its start {start}.", code="INVALID_TERM")


def unearned_fraction(start: date, end: date, on: date) -> Decimal:
    """Share of the term not yet used on ``on``: 1 before/at start, 0 at/after end."""
    _check_term(start, end)
    term = (end - start).days
    unearned = min(max((end - max(on, start)).days, 0), term)
    return Decimal(unearned) / Decimal(term)


def refund_amount(
    rule: RefundRule,
    premium: Decimal,
    start: date,
    end: date,
    cancel_on: date,
    shipped: bool = False,
) -> Decimal:
    """Amount to refund, in cents (ROUND_HALF_UP), between 0 and ``premium`` inclusive.

    - ``none``: never refundable, even before start (used for free or non-cancellable cover).
    - ``none_after_shipped``: nothing once the parcel shipped, otherwise the premium minus fee.
    - ``full``: the premium minus fee.
    - ``pro_rata``: the unearned share minus fee; a cancellation before start returns the
      premium minus fee.
    """
    premium = Decimal(premium)
    if not premium.is_finite() or premium < 0 or premium != premium.quantize(CENT):
        raise InvalidInput(
            f"The premium must be a non-negative amount in cents, got {premium}.", code="INVALID_PREMIUM"
        )
    _check_term(start, end)

    if rule.kind == "none" or (rule.kind == "none_after_shipped" and shipped):
        gross = ZERO
    elif rule.kind == "pro_rata":
        gross = premium * unearned_fraction(start, end, cancel_on)
    else:  # full, or none_after_shipped before shipping
        gross = premium

    net = gross * (HUNDRED - rule.fee_pct) / HUNDRED
    return min(premium, max(ZERO, net.quantize(CENT, rounding=ROUND_HALF_UP)))
