"""Money events: one ledger entry per event, statistics counters moved in the same transaction.

Statistics are read from counters (never from a scan): (channel, product, plan) per day and per
month. A channel's monthly statement lists its ledger entries as CSV.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from decimal import Decimal

from petcover.domain import calendar, journal, money
from petcover.models.policies import StatisticsRow
from petcover.ports import Ports, Put, WriteOp
from petcover.repositories import ledger as ledger_repo
from petcover.repositories import overview as overview_repo

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
    "time_basis",
    "basis_at",
    "period",
    "note",
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
    basis_at: datetime | None = None,
    ref: str | None = None,
    overview: dict[str, int] | None = None,
) -> list[WriteOp]:
    """The writes that record one money event; callers add them to their own transaction.

    The journal is booked in the period of its time basis (``basis_at``, now by default) unless that
    period is settled: then in the next open one, as an adjustment with a note. The transaction
    checks the period is still open, so a settlement that locks it meanwhile makes it fail (and the
    caller's retry books it in the next period). ``overview``: the overview counters the same event
    moves (``repositories.overview``).
    """
    now = p.now()
    place = placement(p, channel_id, basis_at or now, now)
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
        place=place,
        basis_at=basis_at,
        ref=ref,
    )
    ops: list[WriteOp] = [
        Put(ledger_repo.entry_item(entry), if_absent=True),
        ledger_repo.open_check(channel_id, place.period),
    ]
    on = calendar.day_of(now)
    ops += ledger_repo.stat_updates(channel_id, product_code, plan_code, on, counters)
    if overview:
        ops.append(overview_repo.day_add(on, overview))
    return ops


def placement(p: Ports, book: str, basis_at: datetime, now: datetime) -> journal.Period:
    """The period a journal lands in. Only a past period can be locked (a period is settled after it
    ends), so an event of the current month costs no read; the transaction's check still guards it."""
    basis_period = calendar.month_of(basis_at)
    if basis_period >= calendar.month_of(now):
        return journal.target_period(basis_period, None)
    return journal.target_period(basis_period, ledger_repo.locked_through(p.store, book))


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
                e.time_basis,
                calendar.local(e.basis_at or e.at).isoformat(),
                e.period,
                e.note or "",
            ]
        )
    total = sum((e.amount for e in entries), Decimal(0))
    commission = sum((e.commission for e in entries), Decimal(0))
    w.writerow(["TOTAL", "", "", "", "", total, commission, total - commission, "", "", "", "", "", ""])
    return buf.getvalue()
