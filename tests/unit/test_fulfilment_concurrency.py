"""Concurrency with 16 threads on the thread-safe MemoryStore (same conditional semantics).

Real lock waits (100 ms, 200 ms) are used; the clock is controlled only where the lease must run out.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from petcover import runtime
from petcover.errors import DomainError
from petcover.messaging import MemoryPublisher
from petcover.models.fulfilment import CheckInRequest, ConfirmTimeRequest, ShipRequest
from petcover.ports import Ports
from petcover.repositories import appointments as appointment_records
from petcover.services import quota
from petcover.services.fulfilment import assignment, booking, closing, quota_deduction, views, work_orders
from petcover.storage.memory import MemorySecretBox, MemoryStore
from tests.support.bookings import (
    CLINIC,
    SHOP,
    balance,
    code_of,
    offline,
    online,
    setup_world,
    to_booked,
)
from tests.support.policies import issue_policy

THREADS = 16


@pytest.fixture(autouse=True)
def interleave():
    """Switch threads every microsecond so the 16 really overlap (the default 5 ms lets one finish first)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def race(fns: list[Callable[[], Any]]) -> list[str]:
    """Run the callables at the same moment; each outcome is "ok" or the refusal's code."""
    barrier = threading.Barrier(len(fns))
    out: list[str] = [""] * len(fns)

    def run(i: int) -> None:
        barrier.wait()
        try:
            fns[i]()
            out[i] = "ok"
        except DomainError as exc:
            out[i] = exc.code
        except Exception as exc:  # anything else is a bug: make it visible
            out[i] = f"crash:{type(exc).__name__}:{exc}"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return out


def test_cancel_against_check_in_on_one_order_exactly_one_wins(fake_ports):
    p = fake_ports
    clock, _ = setup_world(p)
    winners: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for round_ in range(3):
        number = issue_policy(p, clock, order=f"race-{round_}", pet=f"pet-r{round_}")
        aid = to_booked(p, offline(clock, pet=f"pet-r{round_}"), number)
        work_orders.confirm_time(p, CLINIC, aid, ConfirmTimeRequest(appointment_time=clock.now + timedelta(hours=2)))
        code = code_of(p, aid)
        version = views.get_for_channel(p, SHOP, aid).version
        cancel = partial(closing.cancel, p, SHOP, aid, "race")
        check_in = partial(work_orders.check_in, p, CLINIC, aid, CheckInRequest(code=code))
        fns: list[Callable[[], Any]] = [cancel if i % 2 == 0 else check_in for i in range(THREADS)]
        out = race(fns)
        outcomes.update(out)
        assert not [o for o in out if o.startswith("crash")], out
        assert out.count("ok") == 1, out
        doc = views.get_for_channel(p, SHOP, aid)
        assert doc.version == version + 1  # exactly one state write
        cancels = [o for i, o in enumerate(out) if i % 2 == 0]
        check_ins = [o for i, o in enumerate(out) if i % 2 == 1]
        ci = p.store.get(*appointment_records.checkin_key(aid))
        if "ok" in cancels:
            winners["cancel"] += 1
            assert doc.status == "cancelled"
            assert balance(p, number, "annual-checkup") == (0, 0, 1)  # hold released once
            assert ci["state"] == "issued"  # the code was never used
            assert set(check_ins) <= {"ORDER_LOCKED", "ILLEGAL_TRANSITION"}
        else:
            winners["check_in"] += 1
            assert doc.status == "fulfilling"
            assert balance(p, number, "annual-checkup") == (0, 1, 0)  # still held: service under way
            assert ci["state"] == "used"
            assert set(cancels) <= {"ORDER_LOCKED", "ILLEGAL_TRANSITION"}
            assert set(check_ins) - {"ok"} <= {"ORDER_LOCKED", "CHECKIN_CODE_USED"}
        assert p.store.get(f"LOCK#{aid}#FUL", "LOCK")["fence"] >= 2
    assert sum(winners.values()) == 3
    assert outcomes["ORDER_LOCKED"] + outcomes["ILLEGAL_TRANSITION"] + outcomes["CHECKIN_CODE_USED"] == 3 * 15
    print("cancel vs check-in outcomes:", dict(outcomes), "winners:", dict(winners))


def test_two_bookings_of_one_benefit_only_one_is_booked(fake_ports):
    p = fake_ports
    _, number = setup_world(p)
    out = race([lambda: booking.book_appointment(p, SHOP, number, online()) for _ in range(THREADS)])
    assert out.count("ok") == 1, out
    assert Counter(out)["DUPLICATE_BOOKING"] == THREADS - 1, out
    assert balance(p, number, "medicine-delivery") == (0, 1, 5)
    assert len(p.publisher.sent["dispatch"]) == 1
    appts = p.store.query(f"POLAPPT#{number}", index="gsi2").items
    assert len(appts) == 1
    marker = p.store.get(*appointment_records.open_appointment_key(number, "medicine-delivery"))
    assert marker["ref"] == appts[0]["ref"]


def test_duplicate_delivery_of_one_deduction_message_deducts_once(fake_ports):
    p = fake_ports
    _, number = setup_world(p)
    aid = to_booked(p, online(), number)
    work_orders.ship(p, CLINIC, aid, ShipRequest(carrier="SF", tracking_number="SF0001"))
    closing.confirm_receipt(p, SHOP, aid)
    [msg] = p.publisher.drain("quota")
    results: list[str] = [""] * THREADS
    barrier = threading.Barrier(THREADS)

    def deliver(i: int) -> None:
        barrier.wait()
        results[i] = quota_deduction.deduct_quota(p, dict(msg), receive_count=1, message_id=f"m{i}")

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert Counter(results) == {"deducted": 1, "duplicate": THREADS - 1}
    assert balance(p, number, "medicine-delivery") == (1, 0, 5)
    assert quota.reconcile(p, policy_number=number).mismatches == []


class StallingStore(MemoryStore):
    """Blocks the thread named "stalled" the first time it reads the given appointment."""

    def __init__(self) -> None:
        super().__init__()
        self.target = ""
        self.entered = threading.Event()
        self.go = threading.Event()
        self._stalled = False

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Any:
        if threading.current_thread().name == "stalled" and pk == f"APPT#{self.target}" and not self._stalled:
            self._stalled = True
            self.entered.set()
            assert self.go.wait(timeout=30)
        return super().get(pk, sk, consistent=consistent)


@pytest.fixture
def stalling_ports():
    store = StallingStore()
    p = Ports(store=store, publisher=MemoryPublisher(), secrets=MemorySecretBox())
    runtime.install(p)
    from petcover import authentication
    from petcover.services import catalog

    authentication.clear_cache()
    catalog.clear_caches()
    yield p
    runtime.install(None)


def test_holder_that_stalls_past_its_lease_is_overtaken_and_its_stale_write_refused(stalling_ports):
    p = stalling_ports
    store: StallingStore = p.store  # type: ignore[assignment]
    clock, number = setup_world(p)
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    assignment.assign(p, aid, "clinic-a", {})
    before = views.get_for_channel(p, SHOP, aid)
    assert before.status == "booking"
    store.target = aid

    stale_result: dict[str, Any] = {}

    def stale_cancel() -> None:
        try:
            closing.cancel(p, SHOP, aid, "from a stalled request")
            stale_result["outcome"] = "ok"
        except DomainError as exc:
            stale_result["outcome"] = exc.code
            stale_result["message"] = exc.message

    stalled = threading.Thread(target=stale_cancel, name="stalled")
    stalled.start()
    assert store.entered.wait(timeout=10)  # it holds the lease and is stuck before its write
    fence_of_stalled = int(p.store.get(f"LOCK#{aid}#FUL", "LOCK")["fence"])
    # While the lease runs, others are refused after 100 ms + 200 ms.
    assert race([lambda: work_orders.accept(p, CLINIC, aid)]) == ["ORDER_LOCKED"]

    clock.advance(seconds=11)  # 10 s lease, no renewal: it ran out
    out = race([lambda: work_orders.accept(p, CLINIC, aid) for _ in range(THREADS)])
    assert out.count("ok") == 1, out  # the next holder proceeds
    assert set(out) - {"ok"} <= {"ORDER_LOCKED", "ILLEGAL_TRANSITION"}, out
    lock = p.store.get(f"LOCK#{aid}#FUL", "LOCK")
    assert int(lock["fence"]) > fence_of_stalled

    store.go.set()  # the stalled holder wakes up, reads the (new) state and tries its write
    stalled.join(timeout=30)
    assert stale_result["outcome"] == "LEASE_LOST", stale_result
    assert "nothing was written" in stale_result["message"]
    doc = views.get_for_channel(p, SHOP, aid)
    assert doc.status == "booked" and doc.version == before.version + 1
    assert [s.action for s in doc.steps][-1] == "accept"
    assert balance(p, number, "medicine-delivery") == (0, 1, 5)  # the stale cancel released nothing
    assert p.store.get(*appointment_records.open_appointment_key(number, "medicine-delivery")) is not None
