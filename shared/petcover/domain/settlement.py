"""A party's settlement statement of one month, derived from the journals of that period.

Channel: opening balance (what the channel still owed), receivables (premium), refunds, commission
(per the contract in force when each event was booked), adjustments (late events, reversals, staff
adjustments), net due for the month, payments received, closing balance (what it owes now).
Provider: opening balance (what the platform still owed), fees, deductions, adjustments, net due,
payments made, closing balance.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from petcover.domain import journal
from petcover.domain.money import LedgerEntry
from petcover.models.base import Model

ZERO = Decimal(0)
PREMIUM_EVENTS = frozenset({"issue", "renew", "endorse"})


class Totals(Model):
    receivables: Decimal = ZERO
    refunds: Decimal = ZERO
    commission: Decimal = ZERO
    adjustments: Decimal = ZERO
    fees: Decimal = ZERO
    deductions: Decimal = ZERO
    payments: Decimal = ZERO
    net_due: Decimal = ZERO
    movement: Decimal = ZERO  # the party account's movement in the period (net due minus payments)


def party_account(party: str, party_id: str) -> str:
    return journal.account("channel_receivable" if party == "channel" else "provider_payable", party_id)


def movement(entry: LedgerEntry, account: str) -> Decimal:
    """What the entry moves on the party's account, seen from the party's side (owed to be settled)."""
    debit_minus_credit = journal.balances(entry.lines).get(account, ZERO)
    return debit_minus_credit if account.startswith("channel_receivable") else -debit_minus_credit


def touches(entry: LedgerEntry, account: str) -> bool:
    return any(line.account == account for line in entry.lines)


def totals(party: str, party_id: str, entries: Iterable[LedgerEntry]) -> Totals:
    account = party_account(party, party_id)
    t = Totals()
    for e in entries:
        moved = movement(e, account)
        t.movement += moved
        if e.event in ("channel_receipt", "provider_payment"):
            t.payments -= moved
        elif party == "channel" and e.event in PREMIUM_EVENTS and not e.adjustment:
            t.receivables += e.amount
            t.commission += e.commission
        elif party == "channel" and e.event == "refund" and not e.adjustment:
            t.refunds -= e.amount
            t.commission += e.commission
        elif party == "provider" and e.event == "provider_fee" and not e.adjustment:
            t.fees += moved
        elif party == "provider" and e.event == "provider_deduction":
            t.deductions -= moved
        else:
            t.adjustments += moved
    if party == "channel":
        t.net_due = t.receivables - t.refunds - t.commission + t.adjustments
    else:
        t.net_due = t.fees - t.deductions + t.adjustments
    if t.net_due - t.payments != t.movement:  # every line is counted exactly once
        raise ValueError(f"statement does not add up: {t.net_due} - {t.payments} != {t.movement}")
    return t


def quality_deduction(fees: Decimal, pct: float) -> Decimal:
    """A penalty grade's deduction: ``pct`` percent of the month's fees, to the cent (never negative)."""
    if fees <= ZERO or pct <= 0:
        return ZERO
    return (fees * Decimal(str(pct)) / 100).quantize(journal.CENT)
