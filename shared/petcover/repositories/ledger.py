"""Keys and items of the ledger and of the statistics counters.

LEDGER#{channel}#{month} / {at}#{id}      one entry per money event (gsi1 LEDGERPOL#{policy} / {at})
Days and months are business days and months (``domain.calendar``), not UTC dates.
STAT#{channel}#{product}#{plan} / D#{day}  counters of a day (n, premium, refunds, claims, claim_amount)
STAT#{channel}#{product}#{plan} / M#{month} the same counters for the month
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

from petcover.domain import calendar
from petcover.domain.money import LedgerEntry, cents, from_cents
from petcover.models.policies import StatisticsRow
from petcover.ports import Item, Store, Update
from petcover.repositories.base import paginate

DAY_PREFIX = "D#"
MONTH_PREFIX = "M#"


def ledger_pk(channel_id: str, month: str) -> str:
    return f"LEDGER#{channel_id}#{month}"


def policy_ledger_index(policy_number: str) -> str:
    return f"LEDGERPOL#{policy_number}"


def stat_pk(channel_id: str, product_code: str, plan_code: str) -> str:
    return f"STAT#{channel_id}#{product_code}#{plan_code}"


def stat_keys(channel_id: str, product_code: str, plan_code: str, on: date) -> list[tuple[str, str]]:
    """The day row and the month row a money event or a claim counts in."""
    pk = stat_pk(channel_id, product_code, plan_code)
    return [(pk, f"{DAY_PREFIX}{on.isoformat()}"), (pk, f"{MONTH_PREFIX}{on.strftime('%Y-%m')}")]


def stat_updates(
    channel_id: str, product_code: str, plan_code: str, on: date, counters: dict[str, int]
) -> list[Update]:
    return [Update(pk, sk, add=counters) for pk, sk in stat_keys(channel_id, product_code, plan_code, on)]


def entry_item(entry: LedgerEntry) -> Item:
    at = entry.at.isoformat()
    return {
        "pk": ledger_pk(entry.channel_id, calendar.month_of(entry.at)),
        "sk": f"{at}#{entry.id}",
        "kind": "ledger",
        "state": entry.status,
        "gsi1pk": policy_ledger_index(entry.policy_number),
        "gsi1sk": at,
        "amount": cents(entry.amount),
        "data": entry.model_dump_json(),
    }


def month_entries(store: Store, channel_id: str, month: str) -> Iterator[LedgerEntry]:
    for item in paginate(store, ledger_pk(channel_id, month), limit=500):
        yield LedgerEntry.model_validate(json.loads(item["data"]))


def _stat_row(channel_id: str, product_code: str, plan_code: str, item: Item) -> StatisticsRow:
    return StatisticsRow(
        channel_id=channel_id,
        product_code=product_code,
        plan_code=plan_code,
        period=item["sk"][2:],
        policies=int(item.get("n", 0)),
        premium=from_cents(item.get("premium", 0)),
        refunds=from_cents(item.get("refunds", 0)),
        claims=int(item.get("claims", 0)),
        claim_amount=from_cents(item.get("claim_amount", 0)),
    )


def stat_rows(
    store: Store, channel_id: str, product_code: str, plan_code: str, granularity: str, start: str, end: str
) -> list[StatisticsRow]:
    """The day (or month) rows of one (channel, product, plan) from ``start`` to ``end``: one bounded Query."""
    prefix = DAY_PREFIX if granularity == "day" else MONTH_PREFIX
    page = store.query(
        stat_pk(channel_id, product_code, plan_code), sk_gte=prefix + start, sk_lte=prefix + end + "~", limit=400
    )
    return [_stat_row(channel_id, product_code, plan_code, i) for i in page.items if i["sk"].startswith(prefix)]
