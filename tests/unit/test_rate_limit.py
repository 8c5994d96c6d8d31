"""A channel's rate limit, counted in the table in batches: bounded overshoot, far fewer writes."""

from __future__ import annotations

import threading

import pytest

from petcover import authentication
from petcover.errors import Throttled
from petcover.messaging import MemoryPublisher
from petcover.ports import Ports
from petcover.storage.memory import MemoryStore
from tests.support.clock import Clock


@pytest.fixture
def ports():
    authentication.clear_cache()
    yield Ports(store=MemoryStore(), publisher=MemoryPublisher(), clock=Clock())
    authentication.clear_cache()


def admitted(p: Ports, calls: int, limit: int, owner: str = "channel:a") -> int:
    ok = 0
    for _ in range(calls):
        try:
            authentication.enforce_rate(owner, limit, p)
            ok += 1
        except Throttled as exc:
            assert exc.code == "RATE_LIMITED" and exc.retry_after == 1
    return ok


def writes(p: Ports) -> int:
    assert isinstance(p.store, MemoryStore)
    return p.store.calls.get("update", 0)


def test_small_limits_are_counted_exactly(ports):
    assert admitted(ports, 6, limit=2) == 2
    assert admitted(ports, 30, limit=19) == 0  # the second is already refused for this owner
    assert admitted(ports, 19, limit=19, owner="channel:b") == 19


def test_a_limit_of_50_costs_one_write_per_five_calls_and_overshoots_by_at_most_four(ports):
    assert admitted(ports, 100, limit=50) == 54
    assert writes(ports) == 11  # ten batches admitted, the eleventh refused; the rest answered locally


def test_a_new_second_starts_a_new_count(ports):
    assert admitted(ports, 60, limit=50) == 54
    ports.clock.advance(seconds=1)
    assert admitted(ports, 10, limit=50) == 10


def test_containers_share_the_table_counter(ports, monkeypatch):
    """Two containers: each has its own batch in hand, the table holds the sum."""
    first, second = {}, {}
    total = 0
    for i in range(100):
        monkeypatch.setattr(authentication, "_windows", first if i % 2 else second)
        total += admitted(ports, 1, limit=50)
    assert 50 <= total <= 50 + 2 * 4


def test_concurrent_calls_in_one_container_never_pass_the_bound(ports):
    results: list[int] = []
    start = threading.Barrier(16)

    def run() -> None:
        start.wait(timeout=30)
        results.append(admitted(ports, 10, limit=50))

    threads = [threading.Thread(target=run) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert 50 <= sum(results) <= 54
