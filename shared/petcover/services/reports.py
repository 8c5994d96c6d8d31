"""Statistics from counters: totals add up from the rows, which come from bounded Queries."""

from __future__ import annotations

from decimal import Decimal

from petcover.models.policies import Statistics, StatisticsQuery, StatisticsRow
from petcover.ports import Ports
from petcover.services import catalog, ledger


def statistics(p: Ports, q: StatisticsQuery) -> Statistics:
    channels = [q.channel_id] if q.channel_id else [c.id for c in catalog.list_channels(p)]
    heads = catalog.list_products(p)
    products: dict[str, list[str]] = {}
    for h in heads:
        if q.product_code and h.code != q.product_code:
            continue
        plans: set[str] = set()
        for v in range(1, h.latest_version + 1):
            plans.update(pl.code for pl in catalog.get_version(p, h.code, v).plans)
        products[h.code] = sorted(plans)
    rows = [
        StatisticsRow.model_validate(r.model_dump())
        for r in ledger.statistics(p, channels, products, q.granularity, q.start, q.end)
    ]
    totals = StatisticsRow(
        channel_id=q.channel_id or "*",
        product_code=q.product_code or "*",
        plan_code="*",
        period=f"{q.start}..{q.end}",
        policies=sum(r.policies for r in rows),
        premium=sum((r.premium for r in rows), Decimal(0)),
        refunds=sum((r.refunds for r in rows), Decimal(0)),
        claims=sum(r.claims for r in rows),
        claim_amount=sum((r.claim_amount for r in rows), Decimal(0)),
    )
    return Statistics(rows=rows, totals=totals)
