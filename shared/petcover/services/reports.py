"""Statistics from counters: totals add up from the rows, which come from bounded Queries."""

from __future__ import annotations

from decimal import Decimal

from petcover.models.policies import Statistics, StatisticsQuery, StatisticsRow
from petcover.ports import Ports
from petcover.services import catalog, channels, ledger


def _plans_by_product(p: Ports, product_code: str | None) -> dict[str, list[str]]:
    """Every plan any version of each product has had (a counter row may be from an older version)."""
    products: dict[str, list[str]] = {}
    for h in catalog.list_products(p):
        if product_code and h.code != product_code:
            continue
        plans: set[str] = set()
        for v in range(1, h.latest_version + 1):
            plans.update(pl.code for pl in catalog.get_version(p, h.code, v).plans)
        products[h.code] = sorted(plans)
    return products


def statistics(p: Ports, q: StatisticsQuery) -> Statistics:
    channel_ids = [q.channel_id] if q.channel_id else [c.id for c in channels.list_channels(p)]
    products = _plans_by_product(p, q.product_code)
    rows = ledger.statistics(p, channel_ids, products, q.granularity, q.start, q.end)
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
