"""Keys and items of the ledger and of the statistics counters.

LEDGER#{book}#{period} / {at}#{id}       one journal per money event, in the period it is booked in
                                          (its time basis' month, or the next open one when that one
                                          is settled); book = channel id, provider:{id} or platform
                                          (gsi1 LEDGERPOL#{policy} / {at}; gsi2 LEDGERREF#{ref} / {at})
LEDGERMARK#{key} / MARK                   once-only marker of a journal (a work order's fee, a
                                          settlement's receipt): put if absent in the journal's transaction
PERIODLOCK#{book} / LOCK                  state = the last settled (locked) period of a book
Days and months are business days and months (``domain.calendar``), not UTC dates.
STAT#{channel}#{product}#{plan} / D#{day}#S{shard:02d}    counters of a day (n, premium, refunds, claims,
                                                          claim_amount), spread over STAT_SHARDS items
STAT#{channel}#{product}#{plan} / M#{month}#S{shard:02d}  the same counters for the month

Every issue, refund and claim of a channel's plan moves its day and month rows in its own
transaction, and two transactions writing one item at once conflict (DynamoDB cancels one), so a
write picks one of STAT_SHARDS shards at random and a read sums them (docs/CAPACITY.md: one channel
carrying the whole volume at 100x). A row written before the rows were sharded (no ``#S``) counts too.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date
from typing import TYPE_CHECKING

from petcover.domain import calendar
from petcover.domain.money import LedgerEntry, cents, from_cents
from petcover.ports import Check, Item, Store, Update
from petcover.repositories.base import paginate

if TYPE_CHECKING:
    from petcover.models.policies import StatisticsRow

DAY_PREFIX = "D#"
MONTH_PREFIX = "M#"
STAT_SHARDS = 32  # docs/CAPACITY.md
STAT_FIELDS = ("n", "premium", "refunds", "claims", "claim_amount")
STAT_PAGE = 400 * STAT_SHARDS  # about a year of day rows, every shard, in one page


def ledger_pk(channel_id: str, month: str) -> str:
    return f"LEDGER#{channel_id}#{month}"


def policy_ledger_index(policy_number: str) -> str:
    return f"LEDGERPOL#{policy_number}"


def stat_pk(channel_id: str, product_code: str, plan_code: str) -> str:
    return f"STAT#{channel_id}#{product_code}#{plan_code}"


def stat_keys(
    channel_id: str, product_code: str, plan_code: str, on: date, shard: int | None = None
) -> list[tuple[str, str]]:
    """The day row and the month row a money event or a claim counts in: one shard of each
    (``shard`` modulo STAT_SHARDS, or one at random)."""
    pk = stat_pk(channel_id, product_code, plan_code)
    n = random.randrange(STAT_SHARDS) if shard is None else shard % STAT_SHARDS
    suffix = f"#S{n:02d}"
    return [(pk, f"{DAY_PREFIX}{on.isoformat()}{suffix}"), (pk, f"{MONTH_PREFIX}{on.strftime('%Y-%m')}{suffix}")]


def stat_updates(
    channel_id: str, product_code: str, plan_code: str, on: date, counters: dict[str, int]
) -> list[Update]:
    return [Update(pk, sk, add=counters) for pk, sk in stat_keys(channel_id, product_code, plan_code, on)]


def lock_key(book: str) -> tuple[str, str]:
    return f"PERIODLOCK#{book}", "LOCK"


def once_key(kind: str, ref: str) -> str:
    """What may be posted only once: REVERSAL#{journal}, FEE#{work order}, RECEIPT#{settlement}..."""
    return f"{kind}#{ref}"


def mark_key(key: str) -> tuple[str, str]:
    return f"LEDGERMARK#{key}", "MARK"


def entry_item(entry: LedgerEntry) -> Item:
    at = entry.at.astimezone(UTC).isoformat()  # keys sort by the UTC instant, whatever zone the time came in
    item: Item = {
        "pk": ledger_pk(entry.book or entry.channel_id, entry.period or calendar.month_of(entry.at)),
        "sk": f"{at}#{entry.id}",
        "kind": "ledger",
        "state": entry.status,
        "amount": cents(entry.amount),
        "data": entry.model_dump_json(),
    }
    if entry.policy_number:
        item |= {"gsi1pk": policy_ledger_index(entry.policy_number), "gsi1sk": at}
    if entry.ref:
        item |= {"gsi2pk": f"LEDGERREF#{entry.ref}", "gsi2sk": at}
    return item


def find_mark(store: Store, key: str) -> Item | None:
    return store.get(*mark_key(key), consistent=False)


def load_entry(item: Item) -> LedgerEntry:
    return LedgerEntry.model_validate(json.loads(item["data"]))


def month_entries(store: Store, channel_id: str, month: str) -> Iterator[LedgerEntry]:
    for item in paginate(store, ledger_pk(channel_id, month), limit=500):
        yield load_entry(item)


def entries_between(store: Store, book: str, period: str, start: str, end: str) -> Iterator[LedgerEntry]:
    """The journals of a book's period posted between two UTC instants (ISO strings)."""
    for item in paginate(store, ledger_pk(book, period), sk_gte=start, sk_lte=end + "~", limit=500):
        yield load_entry(item)


def entries_of_policy(store: Store, policy_number: str) -> list[LedgerEntry]:
    return [load_entry(i) for i in paginate(store, policy_ledger_index(policy_number), index="gsi1", limit=200)]


def entries_of_ref(store: Store, ref: str) -> list[LedgerEntry]:
    return [load_entry(i) for i in paginate(store, f"LEDGERREF#{ref}", index="gsi2", limit=200)]


def find_entry(store: Store, book: str, period: str, entry_id: str) -> LedgerEntry | None:
    for entry in month_entries(store, book, period):
        if entry.id == entry_id:
            return entry
    return None


def locked_through(store: Store, book: str) -> str | None:
    item = store.get(*lock_key(book))
    return str(item["state"]) if item and item.get("state") else None


def open_check(book: str, period: str) -> Check:
    """In the journal's transaction: its period is still open (not settled meanwhile)."""
    return Check(*lock_key(book), expect=[("state", "<?", period)], must_exist=False)


def lock_through(book: str, period: str) -> Update:
    """Lock every period up to ``period`` (periods are locked in order, never unlocked)."""
    return Update(
        *lock_key(book),
        set={"state": period, "kind": "period_lock"},
        expect=[("state", "<?", period)],
    )


def _stat_row(channel_id: str, product_code: str, plan_code: str, period: str, sums: dict[str, int]) -> StatisticsRow:
    from petcover.models.policies import StatisticsRow

    return StatisticsRow(
        channel_id=channel_id,
        product_code=product_code,
        plan_code=plan_code,
        period=period,
        policies=sums["n"],
        premium=from_cents(sums["premium"]),
        refunds=from_cents(sums["refunds"]),
        claims=sums["claims"],
        claim_amount=from_cents(sums["claim_amount"]),
    )


def stat_rows(
    store: Store, channel_id: str, product_code: str, plan_code: str, granularity: str, start: str, end: str
) -> list[StatisticsRow]:
    """The day (or month) rows of one (channel, product, plan) from ``start`` to ``end``, their shards
    summed: one Query (a page holds about a year of days; a longer range takes more)."""
    prefix = DAY_PREFIX if granularity == "day" else MONTH_PREFIX
    items = paginate(
        store,
        stat_pk(channel_id, product_code, plan_code),
        sk_gte=prefix + start,
        sk_lte=prefix + end + "~",
        limit=STAT_PAGE,
    )
    periods: dict[str, dict[str, int]] = {}
    for i in items:
        if not i["sk"].startswith(prefix):
            continue
        sums = periods.setdefault(i["sk"][len(prefix) :].split("#", 1)[0], dict.fromkeys(STAT_FIELDS, 0))
        for name in STAT_FIELDS:
            sums[name] += int(i.get(name) or 0)
    return [_stat_row(channel_id, product_code, plan_code, period, sums) for period, sums in periods.items()]


def policy_entries(
    store: Store, policy_number: str, *, limit: int, cursor: str | None
) -> tuple[list[LedgerEntry], str | None]:
    """One page of a policy's money events, newest first (gsi1 LEDGERPOL#{policy})."""
    page = store.query(policy_ledger_index(policy_number), index="gsi1", limit=limit, cursor=cursor, descending=True)
    return [LedgerEntry.model_validate(json.loads(i["data"])) for i in page.items], page.cursor
