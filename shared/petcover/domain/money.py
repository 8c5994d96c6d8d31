"""Money events: amounts in cents, the ledger entry of one event, commission and settlement.

Counters and guarded sums are kept in cents (integers) so that ADD never rounds.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from petcover.domain import calendar

MoneyEvent = Literal["issue", "endorse", "refund", "claim_payout", "renew"]
SETTLEMENT_DAY = 10  # channel premiums are settled by the 10th of the following month


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def from_cents(value: int | str | Decimal) -> Decimal:
    return Decimal(int(value)) / 100


class LedgerEntry(BaseModel):
    id: str
    at: datetime
    channel_id: str
    product_code: str
    plan_code: str
    policy_number: str
    event: MoneyEvent
    amount: Decimal  # positive: owed by the channel to the insurer; negative: owed back
    commission: Decimal
    net: Decimal
    status: Literal["receivable", "payable", "settled"]
    settle_by: date


def settle_by(at: datetime) -> date:
    """The settlement day of the business month after the one ``at`` falls in."""
    day = calendar.day_of(at)
    return date(day.year + (day.month == 12), day.month % 12 + 1, SETTLEMENT_DAY)


def ledger_entry(
    entry_id: str,
    at: datetime,
    *,
    channel_id: str,
    product_code: str,
    plan_code: str,
    policy_number: str,
    event: MoneyEvent,
    amount: Decimal,
    commission_pct: Decimal,
) -> LedgerEntry:
    """The entry of one money event: the channel's commission comes off, the rest is net."""
    commission = (amount * commission_pct / 100).quantize(Decimal("0.01"))
    return LedgerEntry(
        id=entry_id,
        at=at,
        channel_id=channel_id,
        product_code=product_code,
        plan_code=plan_code,
        policy_number=policy_number,
        event=event,
        amount=amount,
        commission=commission,
        net=amount - commission,
        status="receivable" if amount >= 0 else "payable",
        settle_by=settle_by(at),
    )
