"""Sharded counters under concurrency, against DynamoDB (moto): threads write at once, reads sum exactly.

Each worker thread runs its increments as TransactWriteItems (as the business changes do) on
a store of its own, all released together by a barrier; afterwards the one read each counter
has (a Query) returns exactly the number of increments.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from petcover import runtime
from petcover.ports import Store, Update
from petcover.repositories import dispatch, ledger, outbox, overview
from petcover.storage.dynamo import DynamoStore

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
DAY = "2026-12-02"
ON = date(2026, 12, 2)
SCOPE = "000000#medicine_delivery"
THREADS = 8
EACH = 25


@pytest.fixture
def store(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Store:
    """The table, each request atomic as DynamoDB makes it: moto's in-process backend is not
    thread-safe, so its request handler runs under one lock; the threads' requests still
    interleave freely between calls."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    original = DynamoHandler.call_action

    def one_at_a_time(self: Any) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", one_at_a_time)
    return runtime.ports().store


def _race(ops_for: Callable[[int, int], list[Update]]) -> None:
    """THREADS threads, each running EACH transactions ``ops_for(thread, i)``, started together."""
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        own = DynamoStore()  # a container of its own
        try:
            start.wait()
            for i in range(EACH):
                own.transact(ops_for(t, i))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []


def _sks(store: Store, pk: str, prefix: str) -> set[str]:
    return {str(i["sk"]) for i in store.query(pk, sk_prefix=prefix, limit=1000).items}


def test_dispatch_scope_totals_written_by_racing_dispatches_sum_exactly(store):
    def ops(t: int, i: int) -> list[Update]:
        if i % 5 == 0:  # a decline gives the slot back, on whichever total shard it draws
            return dispatch.give_back(DAY, SCOPE, f"P{t}", NOW)
        return [
            dispatch.counter_add(dispatch.counter_key(DAY, SCOPE, f"P{t}"), NOW, below=1000),
            dispatch.counter_add(dispatch.total_key(DAY, SCOPE), NOW),
        ]

    _race(ops)
    counts, total = dispatch.read_counts(store, DAY, SCOPE)
    declines = len(range(0, EACH, 5))
    per_thread = (EACH - declines) - declines
    assert total == THREADS * per_thread
    assert counts == {f"P{t}": per_thread for t in range(THREADS)}
    assert len(_sks(store, dispatch.counter_pk(DAY, SCOPE), dispatch.TOTAL_SK)) > 1


def test_overview_day_counters_and_gauges_written_at_once_sum_exactly(store):
    def ops(t: int, i: int) -> list[Update]:
        return [
            overview.day_add(ON, {"policies_issued": 1, "premium": 100 * t + i}),
            overview.gauge_add({"manual_queue": 1 if i % 2 == 0 else -1}),
        ]

    _race(ops)
    row = overview.month_days(store, "2026-12")[DAY]
    assert row["policies_issued"] == THREADS * EACH
    assert row["premium"] == sum(100 * t + i for t in range(THREADS) for i in range(EACH))
    assert overview.gauges(store)["manual_queue"] == THREADS * len(range(0, EACH, 2)) - THREADS * len(range(1, EACH, 2))
    assert len(_sks(store, overview.month_pk("2026-12"), f"D#{DAY}#")) > 1


def test_statistics_rows_written_at_once_sum_exactly_per_day_and_month(store):
    def ops(t: int, i: int) -> list[Update]:
        return ledger.stat_updates("shop-a", "pet-health", "basic", ON, {"n": 1, "premium": 1000, "claims": i % 2})

    _race(ops)
    [day] = ledger.stat_rows(store, "shop-a", "pet-health", "basic", "day", DAY, DAY)
    [month] = ledger.stat_rows(store, "shop-a", "pet-health", "basic", "month", "2026-12", "2026-12")
    for row in (day, month):
        assert row.policies == THREADS * EACH and row.claims == THREADS * len(range(1, EACH, 2))
        assert row.premium * 100 == 1000 * THREADS * EACH
    assert len(_sks(store, ledger.stat_pk("shop-a", "pet-health", "basic"), f"D#{DAY}#")) > 1


def test_outbox_messages_written_at_once_land_on_many_index_partitions_and_are_all_found(store):
    ids: list[str] = []
    lock = threading.Lock()

    def ops(t: int, i: int) -> list[Update]:
        oid = f"{t:04x}{i:04x}" + "0" * 24
        with lock:
            ids.append(oid)
        item = outbox.message_item(oid, NOW, outbox.OutboxMessage(queue="dispatch", detail_type=None, body={"i": i}))
        pk, sk = outbox.outbox_key(oid)
        return [Update(pk, sk, set={k: v for k, v in item.items() if k not in ("pk", "sk")})]

    _race(ops)
    found = outbox.pending(store, limit=THREADS * EACH * outbox.PENDING_SHARDS)
    assert sorted(str(i["pk"]) for i in found) == sorted(outbox.outbox_key(oid)[0] for oid in ids)
    assert len({i["gsi3pk"] for i in found}) > outbox.PENDING_SHARDS // 2
