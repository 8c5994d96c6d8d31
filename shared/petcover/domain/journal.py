"""Double-entry journal: named accounts, balanced lines, reversals, periods and time bases.

Every money event is one journal (a ``LedgerEntry``) whose lines move amounts between named
accounts; the debits of a journal always equal its credits, so the books balance at every
moment. A journal is never edited: a correction is a new journal with the lines reversed, a
reason and an actor.

Accounts that belong to a party carry it after a colon: ``channel_receivable:shop-a``,
``provider_payable:P123``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from petcover.errors import BusinessRuleViolation
from petcover.models.base import Model

ZERO = Decimal(0)
CENT = Decimal("0.01")

# What the platform keeps books on. Assets and expenses grow on the debit side, the others on the credit.
ACCOUNTS: dict[str, Literal["asset", "liability", "income", "expense"]] = {
    "channel_receivable": "asset",  # what a channel owes for the premiums it collected
    "cash": "asset",
    "premium_income": "income",
    "premium_refunds": "expense",  # refunds of premium (contra income)
    "commission_expense": "expense",  # the channel's commission per its contract
    "claims_expense": "expense",
    "claims_payable": "liability",
    "service_fee_expense": "expense",  # what providers earn for fulfilled services
    "provider_payable": "liability",
    "refunds_payable": "liability",
}
PARTY_ACCOUNTS = frozenset({"channel_receivable", "provider_payable"})

TimeBasis = Literal[
    "issue_time",
    "endorsement_time",
    "cancellation_time",
    "payment_time",
    "fulfilment_time",
    "settlement_time",
    "approval_time",
]


class Line(Model):
    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO


def account(name: str, party: str | None = None) -> str:
    if name not in ACCOUNTS:
        raise ValueError(f"unknown account {name}")
    if name in PARTY_ACCOUNTS:
        if not party:
            raise ValueError(f"account {name} needs a party")
        return f"{name}:{party}"
    return name


def base_account(name: str) -> str:
    return name.split(":", 1)[0]


def transfer(debit_account: str, credit_account: str, amount: Decimal) -> list[Line]:
    """``amount`` from ``credit_account`` to ``debit_account``; a negative amount flows the other way."""
    amount = amount.quantize(CENT)
    if amount == ZERO:
        return []
    if amount < ZERO:
        debit_account, credit_account, amount = credit_account, debit_account, -amount
    return [Line(account=debit_account, debit=amount), Line(account=credit_account, credit=amount)]


def totals(lines: Iterable[Line]) -> tuple[Decimal, Decimal]:
    debit = credit = ZERO
    for line in lines:
        debit += line.debit
        credit += line.credit
    return debit, credit


def assert_balanced(lines: list[Line]) -> None:
    debit, credit = totals(lines)
    if debit != credit or any(x.debit < ZERO or x.credit < ZERO for x in lines):
        raise BusinessRuleViolation(
            f"A journal must balance: debits {debit} against credits {credit}.", code="UNBALANCED_JOURNAL"
        )


def reversed_lines(lines: list[Line]) -> list[Line]:
    return [Line(account=x.account, debit=x.credit, credit=x.debit) for x in lines]


def balances(lines: Iterable[Line]) -> dict[str, Decimal]:
    """Debit minus credit per account."""
    out: dict[str, Decimal] = {}
    for line in lines:
        out[line.account] = out.get(line.account, ZERO) + line.debit - line.credit
    return out


# ------------------------------------------------------------------ the lines of each business event
def premium_lines(channel_id: str, amount: Decimal, commission: Decimal) -> list[Line]:
    """Issue, renewal or endorsement difference (negative when the premium goes down)."""
    receivable = account("channel_receivable", channel_id)
    return transfer(receivable, "premium_income", amount) + transfer("commission_expense", receivable, commission)


def refund_lines(channel_id: str, amount: Decimal, commission: Decimal) -> list[Line]:
    """A cancellation's refund (``amount`` > 0): the channel owes that much less, and keeps that much
    less commission."""
    receivable = account("channel_receivable", channel_id)
    return transfer("premium_refunds", receivable, amount) + transfer(receivable, "commission_expense", commission)


def payout_lines(amount: Decimal) -> list[Line]:
    """A claim paid to the insured."""
    return transfer("claims_expense", "cash", amount)


def provider_fee_lines(provider_id: str, fee: Decimal) -> list[Line]:
    return transfer("service_fee_expense", account("provider_payable", provider_id), fee)


def provider_deduction_lines(provider_id: str, amount: Decimal) -> list[Line]:
    """A deduction from what a provider earned (a quality penalty): the platform owes it that much less."""
    return transfer(account("provider_payable", provider_id), "service_fee_expense", amount)


def channel_receipt_lines(channel_id: str, amount: Decimal) -> list[Line]:
    """Ops confirmed the channel's payment of a settlement."""
    return transfer("cash", account("channel_receivable", channel_id), amount)


def provider_payment_lines(provider_id: str, amount: Decimal) -> list[Line]:
    return transfer(account("provider_payable", provider_id), "cash", amount)


class Period(Model):
    """Where a journal lands: the period of its time basis, or the next open one when that is settled."""

    period: str
    basis_period: str
    adjustment: bool = False
    note: str | None = None


def next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + (mon == 12)}-{mon % 12 + 1:02d}"


def previous_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - (mon == 1)}-{(mon - 2) % 12 + 1:02d}"


def target_period(basis_period: str, locked_through: str | None) -> Period:
    """A settled (locked) period takes nothing more: a late event goes to the next open period."""
    if locked_through is None or basis_period > locked_through:
        return Period(period=basis_period, basis_period=basis_period)
    period = next_month(locked_through)
    note = f"迟到事件：发生于已结算的 {basis_period}，计入 {period} 作为调整 / late event of settled {basis_period}"
    return Period(period=period, basis_period=basis_period, adjustment=True, note=note)


class Reversal(Model):
    """Who reversed which journal, and why."""

    reverses: str
    reason: str = Field(min_length=1)
    actor: str
    at: datetime
