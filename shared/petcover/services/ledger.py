"""Money events: one ledger entry per event, statistics counters moved in the same transaction.

Counters are kept in cents (integers) so ADD never rounds. Statistics are read from counters
(never from a scan): (channel, product, plan) per day and per month.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from petcover.ports import Ports, Put, Update

MoneyEvent = Literal["issue", "endorse", "refund", "claim_payout", "renew"]


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


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


def _stat_keys(channel_id: str, product: str, plan: str, on: date) -> list[tuple[str, str]]:
    pk = f"STAT#{channel_id}#{product}#{plan}"
    return [(pk, f"D#{on.isoformat()}"), (pk, f"M#{on.strftime('%Y-%m')}")]


def money_ops(
    p: Ports,
    *,
    channel_id: str,
    product_code: str,
    plan_code: str,
    policy_number: str,
    event: MoneyEvent,
    amount: Decimal,
    commission_pct: Decimal,
    counters: dict[str, int],
) -> list[Put | Update]:
    """The writes that record one money event; callers add them to their own transaction."""
    now = p.now()
    commission = (amount * commission_pct / 100).quantize(Decimal("0.01"))
    net = amount - commission
    # Settlement rule: channel premiums are settled by the 10th of the following month.
    nxt = date(now.year + (now.month == 12), now.month % 12 + 1, 10)
    entry = LedgerEntry(
        id=uuid.uuid4().hex[:12],
        at=now,
        channel_id=channel_id,
        product_code=product_code,
        plan_code=plan_code,
        policy_number=policy_number,
        event=event,
        amount=amount,
        commission=commission,
        net=net,
        status="receivable" if amount >= 0 else "payable",
        settle_by=nxt,
    )
    month = now.strftime("%Y-%m")
    ops: list[Put | Update] = [
        Put(
            {
                "pk": f"LEDGER#{channel_id}#{month}",
                "sk": f"{now.isoformat()}#{entry.id}",
                "kind": "ledger",
                "state": entry.status,
                "gsi1pk": f"LEDGERPOL#{policy_number}",
                "gsi1sk": now.isoformat(),
                "amount": cents(amount),
                "data": entry.model_dump_json(),
            }
        )
    ]
    for pk, sk in _stat_keys(channel_id, product_code, plan_code, now.date()):
        ops.append(Update(pk, sk, add=counters))
    return ops


class StatRow(BaseModel):
    channel_id: str
    product_code: str
    plan_code: str
    period: str
    policies: int = 0
    premium: Decimal = Decimal(0)
    refunds: Decimal = Decimal(0)
    claims: int = 0
    claim_amount: Decimal = Decimal(0)


def _row(channel_id: str, product: str, plan: str, item: dict[str, Any]) -> StatRow:
    return StatRow(
        channel_id=channel_id,
        product_code=product,
        plan_code=plan,
        period=item["sk"][2:],
        policies=int(item.get("n", 0)),
        premium=Decimal(int(item.get("premium", 0))) / 100,
        refunds=Decimal(int(item.get("refunds", 0))) / 100,
        claims=int(item.get("claims", 0)),
        claim_amount=Decimal(int(item.get("claim_amount", 0))) / 100,
    )


def statistics(
    p: Ports, channel_ids: list[str], products: dict[str, list[str]], granularity: str, start: str, end: str
) -> list[StatRow]:
    """One bounded Query per (channel, product, plan) over the period range."""
    prefix = "D#" if granularity == "day" else "M#"
    rows: list[StatRow] = []
    for ch in channel_ids:
        for product, plans in products.items():
            for plan in plans:
                page = p.store.query(
                    f"STAT#{ch}#{product}#{plan}", sk_gte=prefix + start, sk_lte=prefix + end + "~", limit=400
                )
                rows.extend(_row(ch, product, plan, i) for i in page.items if i["sk"].startswith(prefix))
    return rows


def statement_entries(p: Ports, channel_id: str, month: str) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    cursor = None
    while True:
        page = p.store.query(f"LEDGER#{channel_id}#{month}", limit=500, cursor=cursor)
        entries.extend(LedgerEntry.model_validate(json.loads(i["data"])) for i in page.items)
        cursor = page.cursor
        if not cursor:
            return entries


def statement_csv(entries: list[LedgerEntry]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
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
        ]
    )
    for e in entries:
        w.writerow(
            [
                e.at.isoformat(),
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
