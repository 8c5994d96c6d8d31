"""Sharded counters sum exactly: every write lands on one shard, every read sums them all.

Each counter a hot key would otherwise carry at 100x the documented volume (docs/CAPACITY.md) is
spread over shard items: the dispatch scope total, the overview day counters and gauges, the
statistics rows, and the outbox's index partition. Here, with the in-memory store: the shards
used are several, the reads sum them to the number of increments (give-backs included), and the
reads cost what they cost before sharding.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from petcover.ports import Ports, Update
from petcover.repositories import dispatch, ledger, outbox, overview
from petcover.services import outbox as outbox_service
from petcover.storage.memory import MemoryStore
from tests.support.clock import Clock

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
DAY = "2026-12-02"
SCOPE = "000000#medicine_delivery"
ON = date(2026, 12, 2)


class CountingStore:
    """The in-memory store, recording the name of every call made through it."""

    def __init__(self, inner: MemoryStore) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if callable(attr):
            self.calls.append(name)
        return attr


def _apply(store: MemoryStore, op: Update) -> None:
    store.transact([op])  # the counters move inside the business change's transaction


def _shards_of(store: MemoryStore, pk: str, prefix: str) -> set[str]:
    return {str(i["sk"]) for i in store.query(pk, sk_prefix=prefix, limit=1000).items}


# ---------------------------------------------------------------- dispatch scope totals


def test_the_scope_total_is_spread_over_shards_and_read_back_exactly_with_the_providers():
    store = MemoryStore()
    for _ in range(200):
        _apply(store, dispatch.counter_add(dispatch.total_key(DAY, SCOPE), NOW))
    for _ in range(7):
        _apply(store, dispatch.counter_add(dispatch.counter_key(DAY, SCOPE, "P1"), NOW, below=10))
    for op in dispatch.give_back(DAY, SCOPE, "P1", NOW):  # a decline gives one back, on any shard
        _apply(store, op)
    counts, total = dispatch.read_counts(store, DAY, SCOPE)
    assert total == 199 and counts == {"P1": 6}
    used = _shards_of(store, dispatch.counter_pk(DAY, SCOPE), dispatch.TOTAL_SK)
    assert 1 < len(used) <= dispatch.TOTAL_SHARDS


def test_a_total_written_before_sharding_still_counts():
    store = MemoryStore()
    store.put({"pk": dispatch.counter_pk(DAY, SCOPE), "sk": dispatch.TOTAL_SK, "n": 5})
    _apply(store, dispatch.counter_add(dispatch.total_key(DAY, SCOPE, shard=3), NOW))
    assert dispatch.read_counts(store, DAY, SCOPE) == ({}, 6)


def test_a_days_counts_with_every_total_shard_are_still_one_query():
    store = MemoryStore()
    for shard in range(dispatch.TOTAL_SHARDS):
        _apply(store, dispatch.counter_add(dispatch.total_key(DAY, SCOPE, shard=shard), NOW))
    for pid in ("P1", "P2", "P3"):
        _apply(store, dispatch.counter_add(dispatch.counter_key(DAY, SCOPE, pid), NOW))
    counting = CountingStore(store)
    assert dispatch.read_counts(counting, DAY, SCOPE) == ({"P1": 1, "P2": 1, "P3": 1}, dispatch.TOTAL_SHARDS)
    assert counting.calls == ["query"]


@settings(max_examples=60, deadline=None)
@given(
    moves=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from([1, 1, 1, -1])), max_size=120),
)
def test_property_the_sum_over_total_shards_is_the_sum_of_the_moves(moves):
    store = MemoryStore()
    for shard, by in moves:
        _apply(store, dispatch.counter_add(dispatch.total_key(DAY, SCOPE, shard=shard), NOW, by=by))
    assert dispatch.read_counts(store, DAY, SCOPE)[1] == sum(by for _, by in moves)


# ---------------------------------------------------------------- overview day counters and gauges


def test_overview_day_counters_spread_over_shards_sum_to_the_increments():
    store = MemoryStore()
    for i in range(300):
        _apply(store, overview.day_add(ON, {"policies_issued": 1, "premium": 150 + i}))
    _apply(store, overview.day_add(date(2026, 12, 3), {"bookings": 2}))
    counting = CountingStore(store)
    days = overview.month_days(counting, "2026-12")
    assert counting.calls == ["query"]
    assert days[DAY]["policies_issued"] == 300
    assert days[DAY]["premium"] == sum(150 + i for i in range(300))
    assert days["2026-12-03"]["bookings"] == 2 and days["2026-12-03"]["policies_issued"] == 0
    assert 1 < len(_shards_of(store, overview.month_pk("2026-12"), f"D#{DAY}#")) <= overview.SHARDS


def test_a_full_month_with_every_shard_written_is_one_page():
    store = MemoryStore()
    for d in range(1, 32):
        for shard in range(overview.SHARDS):
            _apply(store, overview.day_add(date(2026, 12, d), {"bookings": 1}, shard=shard))
    counting = CountingStore(store)
    days = overview.month_days(counting, "2026-12")
    assert counting.calls == ["query"]
    assert len(days) == 31 and all(row["bookings"] == overview.SHARDS for row in days.values())


@settings(max_examples=60, deadline=None)
@given(moves=st.lists(st.tuples(st.integers(0, 1_000), st.sampled_from([1, -1])), max_size=120))
def test_property_gauges_sum_over_shards(moves):
    store = MemoryStore()
    for shard, by in moves:
        _apply(store, overview.gauge_add({"manual_queue": by}, shard=shard))
    assert overview.gauges(store)["manual_queue"] == max(sum(by for _, by in moves), 0)


@settings(max_examples=60, deadline=None)
@given(shards=st.lists(st.integers(0, 1_000), max_size=150))
def test_property_overview_day_sum_is_the_number_of_increments(shards):
    store = MemoryStore()
    for shard in shards:
        _apply(store, overview.day_add(ON, {"claims_opened": 1}, shard=shard))
    assert overview.month_days(store, "2026-12").get(DAY, {}).get("claims_opened", 0) == len(shards)


# ---------------------------------------------------------------- statistics rows


def _stat(store: MemoryStore, on: date, counters: dict[str, int], shard: int | None = None) -> None:
    store.transact(
        [Update(pk, sk, add=counters) for pk, sk in ledger.stat_keys("shop-a", "pet-health", "basic", on, shard)]
    )


def test_statistics_rows_over_shards_sum_per_day_and_per_month():
    store = MemoryStore()
    for i in range(100):
        _stat(store, ON, {"n": 1, "premium": 1000, "claims": i % 2})
    _stat(store, date(2026, 12, 5), {"n": 2, "refunds": 300})
    days = ledger.stat_rows(store, "shop-a", "pet-health", "basic", "day", "2026-12-01", "2026-12-31")
    assert [(r.period, r.policies, r.claims) for r in days] == [(DAY, 100, 50), ("2026-12-05", 2, 0)]
    assert days[0].premium == Decimal("1000.00") and days[1].refunds == Decimal("3.00")
    [month] = ledger.stat_rows(store, "shop-a", "pet-health", "basic", "month", "2026-12", "2026-12")
    assert (month.period, month.policies, month.claims) == ("2026-12", 102, 50)
    pk = ledger.stat_pk("shop-a", "pet-health", "basic")
    assert 1 < len(_shards_of(store, pk, f"D#{DAY}#")) <= ledger.STAT_SHARDS


def test_statistics_rows_written_before_sharding_still_count_and_a_year_is_one_query():
    store = MemoryStore()
    pk = ledger.stat_pk("shop-a", "pet-health", "basic")
    store.put({"pk": pk, "sk": f"D#{DAY}", "n": 4})  # an unsharded row
    _stat(store, ON, {"n": 1}, shard=7)
    for d in range(1, 366):
        _stat(store, date.fromordinal(date(2026, 1, 1).toordinal() + d - 1), {"n": 1}, shard=d)
    counting = CountingStore(store)
    rows = ledger.stat_rows(counting, "shop-a", "pet-health", "basic", "day", "2026-01-01", "2026-12-31")
    assert counting.calls == ["query"]
    assert len(rows) == 365 and next(r for r in rows if r.period == DAY).policies == 6


@settings(max_examples=40, deadline=None)
@given(shards=st.lists(st.integers(0, 1_000), max_size=100))
def test_property_statistics_sum_is_the_number_of_increments(shards):
    store = MemoryStore()
    for shard in shards:
        _stat(store, ON, {"n": 1}, shard=shard)
    rows = ledger.stat_rows(store, "shop-a", "pet-health", "basic", "month", "2026-12", "2026-12")
    assert sum(r.policies for r in rows) == len(shards)


# ---------------------------------------------------------------- the outbox index


def test_outbox_messages_spread_over_index_partitions_and_a_sweep_finds_every_one(fake_ports: Ports):
    p = fake_ports
    rng = random.Random(7)
    p.clock = Clock(NOW)
    written = []
    for i in range(64):
        put, oid = outbox_service.message(p, queue="dispatch", body={"i": i, "r": rng.random()})
        p.store.transact([put])
        written.append(oid)
    partitions = {p.store.get(*outbox.outbox_key(oid))["gsi3pk"] for oid in written}  # type: ignore[index]
    assert partitions <= set(outbox.pending_pks()) and len(partitions) > outbox.PENDING_SHARDS // 2
    assert len(outbox.pending(p.store, limit=64 * outbox.PENDING_SHARDS)) == 64


def test_the_shard_of_a_message_is_a_stable_function_of_its_id():
    ids = [f"{i:032x}" for i in range(1000)]
    assert [outbox.pending_shard(i) for i in ids] == [outbox.pending_shard(i) for i in ids]
    counts = [0] * outbox.PENDING_SHARDS
    for i in ids:
        counts[outbox.pending_shard(i)] += 1
    assert min(counts) > 1000 / outbox.PENDING_SHARDS / 2  # even enough: no shard starves or floods
