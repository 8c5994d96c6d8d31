"""Per-order lock: lease, fencing counter, retry schedule, stale holders (controlled clock)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from petcover.errors import Conflict, StaleWrite
from petcover.ports import Put
from petcover.services import locks
from tests.support.clock import Clock

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


@pytest.fixture
def p(fake_ports, monkeypatch):
    clock = Clock(T0)
    fake_ports.clock = clock
    waits: list[float] = []

    def sleep(s: float) -> None:  # waiting moves the controlled clock, not the test
        waits.append(s)
        clock.advance(s)

    monkeypatch.setattr(locks, "sleep", sleep)
    fake_ports.extra["waits"] = waits
    return fake_ports


def test_key_is_order_id_plus_module_and_the_lease_is_ten_seconds(p):
    lease = locks.acquire(p, "AP1", "FUL")
    assert lease.key == ("LOCK#AP1#FUL", "LOCK")
    assert lease.fence == 1 and lease.expires_at == int(T0.timestamp()) + 10
    item = locks.current(p, "AP1", "FUL")
    assert item and item["expires_at"] == lease.expires_at and item["fence"] == 1
    # Another module locks the same order independently.
    assert locks.acquire(p, "AP1", "DISPATCH").fence == 1


def test_contention_retries_after_100_then_200_ms_then_refuses_with_409(p):
    locks.acquire(p, "AP1", "FUL")
    with pytest.raises(Conflict) as err:
        locks.acquire(p, "AP1", "FUL")
    assert err.value.code == "ORDER_LOCKED" and err.value.status == 409 and err.value.retry_after == 1
    assert "AP1" in err.value.message and "try again" in err.value.message
    assert p.extra["waits"] == [0.1, 0.2]


def test_released_lock_is_free_at_once_and_every_acquire_raises_the_fence(p):
    fences = []
    for _ in range(3):
        with locks.held(p, "AP1", "FUL") as lease:
            fences.append(lease.fence)
    assert fences == [1, 2, 3]
    assert p.extra["waits"] == []


def test_a_holder_whose_lease_ran_out_is_overtaken_and_cannot_write_or_release(p):
    stale = locks.acquire(p, "AP1", "FUL")
    p.clock.advance(10.5)  # no renewal: the lease ran out
    fresh = locks.acquire(p, "AP1", "FUL")
    assert fresh.fence == stale.fence + 1
    assert p.extra["waits"] == []  # an expired lease is free, no retry needed
    # The stale holder's write carries its lease check: refused because the fence moved on,
    # even though the lock item's own lease (the new holder's) is still running.
    with pytest.raises(StaleWrite):
        p.store.transact([Put({"pk": "X", "sk": "X", "state": "stale"}), stale.check(p)])
    assert p.store.get("X", "X") is None
    p.store.transact([Put({"pk": "X", "sk": "X", "state": "fresh"}), fresh.check(p)])
    assert p.store.get("X", "X")["state"] == "fresh"
    assert locks.release(p, stale) is False  # cannot free its successor's lease
    with pytest.raises(Conflict):
        locks.acquire(p, "AP1", "FUL")
    assert locks.release(p, fresh) is True
    assert locks.acquire(p, "AP1", "FUL").fence == fresh.fence + 1


def test_an_expired_lease_cannot_write_even_when_nobody_took_over(p):
    lease = locks.acquire(p, "AP1", "FUL")
    assert lease.valid(p)
    p.clock.advance(9.9)
    p.store.transact([Put({"pk": "X", "sk": "1"}), lease.check(p)])
    p.clock.advance(0.2)
    assert not lease.valid(p)
    with pytest.raises(StaleWrite):
        p.store.transact([Put({"pk": "X", "sk": "2"}), lease.check(p)])
    assert p.store.get("X", "2") is None


def test_fence_survives_release_so_a_token_reuse_is_impossible(p):
    a = locks.acquire(p, "AP1", "FUL")
    locks.release(p, a)
    b = locks.acquire(p, "AP1", "FUL")
    assert b.fence == a.fence + 1 and b.token != a.token
    # Even if the TTL removed the item and the fence restarted, the old token would not match.
    p.store.delete(*a.key)
    c = locks.acquire(p, "AP1", "FUL")
    assert c.fence == a.fence
    with pytest.raises(StaleWrite):
        p.store.transact([Put({"pk": "X", "sk": "X"}), a.check(p)])
