"""Deductions from a provider's monthly statement: the penalty of the month's quality assessment.

The assessment grades each provider; a grade band of the rules the assessment used may carry a
``deduction_pct`` (the built-in grade D: 5%). The provider's settlement run posts the deduction, once
per provider and month (a marker), into the assessed month before the month is locked, so the
statement lists it under ``deductions`` next to the orders and their fees. A provider with fees in a
month that has not been assessed yet is not settled: the daily settlement schedule runs after the
monthly assessment and picks it up the next day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from petcover.domain import calendar, journal, settlement
from petcover.domain.money import LedgerEntry
from petcover.domain.quality import Assessment
from petcover.errors import BusinessRuleViolation, Conflict
from petcover.ports import Ports
from petcover.repositories import ledger as ledger_repo
from petcover.repositories import quality as quality_repo
from petcover.services.money import journals

ASSESSMENT_ACTOR = "system:quality"


def once_key(provider_id: str, month: str) -> str:
    return ledger_repo.once_key("DEDUCT", f"{provider_id}.{month}")


def month_fees(entries: list[LedgerEntry]) -> Decimal:
    return sum((e.amount for e in entries if e.event == "provider_fee" and not e.adjustment), Decimal(0))


def penalty_pct(p: Ports, a: Assessment) -> float:
    """The deduction of the assessment's grade, under the rules version the assessment used."""
    if a.grade is None:
        return 0
    item = p.store.get(*quality_repo.rules_version_key(a.rules_version)) if a.rules_version else None
    band = quality_repo.load_rules(item).rules.band(a.grade)
    return band.deduction_pct if band else 0


def deduct(p: Ports, provider_id: str, month: str) -> LedgerEntry | None:
    """Post the month's quality deduction of a provider (once); None when there is nothing to deduct."""
    key = once_key(provider_id, month)
    if journals.already_posted(p, key):
        return None
    fees = month_fees(list(ledger_repo.month_entries(p.store, journals_book(provider_id), month)))
    if fees <= 0:
        return None
    if p.store.get(*quality_repo.run_key(month)) is None:
        raise BusinessRuleViolation(
            f"The quality assessment of {month} has not run yet; provider statements of {month} wait for it.",
            code="QUALITY_NOT_ASSESSED",
            details={"month": month},
        )
    a = quality_repo.assessment_of(p.store, month, provider_id)
    pct = penalty_pct(p, a) if a else 0
    amount = settlement.quality_deduction(fees, pct)
    if a is None or amount <= 0:
        return None
    e = journals.entry(
        p,
        book=journals_book(provider_id),
        event="provider_deduction",
        lines=journal.provider_deduction_lines(provider_id, amount),
        basis_at=_last_day_of(month),
        amount=-amount,
        provider_id=provider_id,
        ref=f"quality:{month}",
        actor=ASSESSMENT_ACTOR,
        reason=f"quality grade {a.grade} (score {a.score}), {pct}% of fees {fees}",
        note=f"质量考核 {month} 等级 {a.grade}：扣减服务费 {pct}% / quality grade {a.grade}: {pct}% of fees deducted",
    )
    try:
        return journals.post(p, e, once=key)
    except Conflict:  # a concurrent run posted it
        return None


def journals_book(provider_id: str) -> str:
    return f"provider:{provider_id}"


def _last_day_of(month: str) -> datetime:
    """Noon of the month's last business day: well inside the month whatever the zone."""
    last = date.fromisoformat(journal.next_month(month) + "-01") - timedelta(days=1)
    return calendar.start_of(last) + timedelta(hours=12)
