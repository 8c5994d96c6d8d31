"""Money events: one ledger entry per event, statistics counters moved in the same transaction.

Statistics are read from counters (never from a scan): (channel, product, plan) per day and per
month. A channel's monthly statement lists its ledger entries as CSV.
"""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal

from petcover.domain import calendar, money
from petcover.models.policies import StatisticsRow
from petcover.ports import Ports, Put, Update
from petcover.repositories import ledger as ledger_repo

STATEMENT_COLUMNS = (
    "at",
    "policy_number",
    "product",
    "plan",
    "event",
    "amount",
    "commission",
    "net",
    "status",
    "settle_by",
)


def money_ops(
    p: Ports,
    *,
    channel_id: str,
    product_code: str,
    plan_code: str,
    policy_number: str,
    event: money.MoneyEvent,
    amount: Decimal,
    commission_pct: Decimal,
    counters: dict[str, int],
) -> list[Put | Update]:
    """The writes that record one money event; callers add them to their own transaction."""
    now = p.now()
    entry = money.ledger_entry(
        uuid.uuid4().hex[:12],
        now,
        channel_id=channel_id,
        product_code=product_code,
        plan_code=plan_code,
        policy_number=policy_number,
        event=event,
        amount=amount,
        commission_pct=commission_pct,
    )
    ops: list[Put | Update] = [Put(ledger_repo.entry_item(entry))]
    ops += ledger_repo.stat_updates(channel_id, product_code, plan_code, calendar.day_of(now), counters)
    return ops


def statistics(
    p: Ports, channel_ids: list[str], products: dict[str, list[str]], granularity: str, start: str, end: str
) -> list[StatisticsRow]:
    """One bounded Query per (channel, product, plan) over the period range."""
    rows: list[StatisticsRow] = []
    for ch in channel_ids:
        for product, plans in products.items():
            for plan in plans:
                rows.extend(ledger_repo.stat_rows(p.store, ch, product, plan, granularity, start, end))
    return rows


def statement_entries(p: Ports, channel_id: str, month: str) -> list[money.LedgerEntry]:
    return list(ledger_repo.month_entries(p.store, channel_id, month))


def statement_csv(entries: list[money.LedgerEntry]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(STATEMENT_COLUMNS)
    for e in entries:
        w.writerow(
            [
                calendar.local(e.at).isoformat(),  # the statement's month is a business month
                e.policy_number,
                e.product_code,
                e.plan_code,
                e.event,
                e.amount,
                e.commission,
                e.net,
                e.status,
                e.settle_by.isoformat(),
            ]
        )
    total = sum((e.amount for e in entries), Decimal(0))
    commission = sum((e.commission for e in entries), Decimal(0))
    w.writerow(["TOTAL", "", "", "", "", total, commission, total - commission, "", ""])
    return buf.getvalue()
