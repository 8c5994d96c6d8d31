"""Terms of a policy's life: when it may start, when it may be renewed, what a plan change leaves."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from petcover.errors import BusinessRuleViolation, InvalidInput

MAX_START_AHEAD_DAYS = 90
MAX_SOLD_BACK_DAYS = 62
RENEWAL_WINDOW_DAYS = 30
# Refusals of the catalogue that mean the product can no longer be sold on this contract: the
# customer is offered a new product instead of a renewal.
RENEWAL_BLOCKERS = frozenset(
    {"CONTRACT_TERMINATED", "PRODUCT_DELISTED", "PRODUCT_NOT_ON_SALE", "NO_CONTRACT", "CONTRACT_NOT_IN_EFFECT"}
)


def check_start(start: date, today: date) -> None:
    if start < today or start > today + timedelta(days=MAX_START_AHEAD_DAYS):
        raise InvalidInput(
            f"The start date must be between today and {MAX_START_AHEAD_DAYS} days ahead.",
            code="VALIDATION_FAILED",
            details=[{"field": "start_date", "message": "out of range", "type": "date_rule"}],
        )


def check_sold_at(sold_at: datetime | None, now: datetime) -> None:
    """A channel may report a sale late (its order time), never ahead and at most MAX_SOLD_BACK_DAYS back."""
    if sold_at is None:
        return
    if sold_at.tzinfo is None or sold_at > now or sold_at < now - timedelta(days=MAX_SOLD_BACK_DAYS):
        raise InvalidInput(
            f"sold_at must carry a time zone, be in the past and at most {MAX_SOLD_BACK_DAYS} days back.",
            code="VALIDATION_FAILED",
            details=[{"field": "sold_at", "message": "out of range", "type": "date_rule"}],
        )


def check_renewable(number: str, end: date, today: date) -> None:
    """A policy is renewed in the last RENEWAL_WINDOW_DAYS of its term (or after it ended)."""
    opens = end - timedelta(days=RENEWAL_WINDOW_DAYS)
    if end - today > timedelta(days=RENEWAL_WINDOW_DAYS):
        raise BusinessRuleViolation(
            f"Policy {number} can be renewed from {opens.isoformat()}.", code="TOO_EARLY_TO_RENEW"
        )


def remaining_after_plan_change(sum_insured: Decimal, remaining: Decimal, new_sum_insured: Decimal) -> Decimal:
    """What was paid out stays paid out: the new plan's sum insured less it, never below zero."""
    return max(Decimal(0), new_sum_insured - (sum_insured - remaining))


def quota_delta(old_quota: int | None, new_quota: int | None) -> int:
    """How much a plan change adds to a counted benefit's quota (0: unchanged or not counted)."""
    if old_quota is None or new_quota is None:
        return 0
    return new_quota - old_quota
