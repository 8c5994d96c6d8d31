"""Keys and items of the overview counters: what the staff console's overview reads, never a scan.

  OVERVIEW#{month} / D#{day}#S{shard}   the counters of one business day, in SHARDS items
  OVERVIEW#GAUGE / S#{shard}            gauges: what stands open now (open SLA breaches, manual queue)

Every counter moves by ``ADD`` in the transaction of the business change it counts (an issued
policy, a refund, a paid claim, a booking, ...), so a counter never counts a change that did
not commit. A write picks one shard at random: two transactions touching the same item at once
conflict (DynamoDB cancels one), so the day is spread over SHARDS items; they share one
partition per month, so a month (every day, every shard) is one Query. At 100x the documented
volume a shard sees about 9 transactions a second at peak (docs/CAPACITY.md).

Days and months are business days (``domain.calendar``), like the statistics counters.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date

from petcover.ports import Store, Update

SHARDS = 64  # docs/CAPACITY.md: every counted change at 100x the documented volume
DAY_PREFIX = "D#"
GAUGE_PK = "OVERVIEW#GAUGE"
MONTH_PAGE = 31 * SHARDS + 8  # every item of a month in one page

# Day counters (money in cents) and gauges; anything else is refused, so a typo cannot hide.
DAY_COUNTERS = frozenset(
    {
        "policies_issued",
        "premium",
        "cancellations",
        "refunds",
        "claims_opened",
        "claims_paid",
        "claims_paid_amount",
        "bookings",
        "fulfilled",
        "appointments_cancelled",
        "sla_breaches",
    }
)
GAUGES = frozenset({"open_breaches", "manual_queue"})


def month_pk(month: str) -> str:
    return f"OVERVIEW#{month}"


def _shard(shard: int | None) -> int:
    return random.randrange(SHARDS) if shard is None else shard % SHARDS


def day_key(on: date, shard: int) -> tuple[str, str]:
    return month_pk(on.strftime("%Y-%m")), f"{DAY_PREFIX}{on.isoformat()}#S{shard:02d}"


def gauge_key(shard: int) -> tuple[str, str]:
    return GAUGE_PK, f"S#{shard:02d}"


def _checked(counters: Mapping[str, int], known: frozenset[str]) -> dict[str, int]:
    unknown = set(counters) - known
    if unknown:
        raise ValueError(f"not an overview counter: {sorted(unknown)}")
    return {k: int(v) for k, v in counters.items() if v}


def day_add(on: date, counters: Mapping[str, int], *, shard: int | None = None) -> Update:
    """The write that adds ``counters`` to business day ``on``; goes into the change's transaction."""
    return Update(*day_key(on, _shard(shard)), set={"kind": "overview_day"}, add=_checked(counters, DAY_COUNTERS))


def gauge_add(counters: Mapping[str, int], *, shard: int | None = None) -> Update:
    """The write that moves gauges (+1 when something opens, -1 when it closes)."""
    return Update(*gauge_key(_shard(shard)), set={"kind": "overview_gauge"}, add=_checked(counters, GAUGES))


def month_days(store: Store, month: str) -> dict[str, dict[str, int]]:
    """Every day of ``month`` that has counters, its shards summed: one Query."""
    page = store.query(month_pk(month), sk_prefix=DAY_PREFIX, limit=MONTH_PAGE)
    days: dict[str, dict[str, int]] = {}
    for item in page.items:
        day = str(item["sk"])[len(DAY_PREFIX) :].split("#", 1)[0]
        row = days.setdefault(day, {})
        for name in DAY_COUNTERS:
            row[name] = row.get(name, 0) + int(item.get(name) or 0)
    return days


def gauges(store: Store) -> dict[str, int]:
    """The gauges, their shards summed (one Query); never below zero."""
    page = store.query(GAUGE_PK, limit=SHARDS + 1)
    out = dict.fromkeys(GAUGES, 0)
    for item in page.items:
        for name in GAUGES:
            out[name] += int(item.get(name) or 0)
    return {k: max(v, 0) for k, v in out.items()}
