"""A warm dispatch assignment's round trips, and what its per-container provider cache may not weaken:
a suspension or an approved configuration change after the cache was filled is honoured at commit."""

from __future__ import annotations

import dataclasses
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from petcover.errors import Conflict
from petcover.models.partners import StatusChange
from petcover.ports import Ports
from petcover.repositories import partners as partner_keys
from petcover.services import locks
from petcover.services.dispatch import assignment, counters
from petcover.services.fulfilment import booking, closing, views
from petcover.services.partners import status
from petcover.storage.memory import MemoryStore
from tests.support.blobs import FakeBlobs
from tests.support.bookings import SHOP, online, setup_world
from tests.support.bookings import offline as offline_booking
from tests.support.dispatch import OtherContainer, message, publish, rule
from tests.support.policies import issue_policy
from tests.support.providers import STAFF, onboard_provider

WARM_ROUND_TRIPS = 4


def _world(p: Ports) -> tuple[str, str, str, dict[str, Any]]:
    """Two clinics for check-ups, one pharmacy for deliveries; one check-up dispatched (caches warm);
    returns the providers and the queue message of a medicine delivery booked next."""
    clock, number = setup_world(p)
    p.blobs = FakeBlobs()
    assignment.clear_caches()
    a = onboard_provider(p, "Clinic A")
    b = onboard_provider(p, "Clinic B")
    pharmacy = onboard_provider(p, "Pharmacy", services=("medicine_delivery",))
    publish(p, rule({a: 60, b: 40}), rule({pharmacy: 100}, service="medicine_delivery"))
    booking.book_appointment(p, SHOP, issue_policy(p, clock, order="o-2", pet="pet-2"), online("pet-2"))
    (warm,) = p.publisher.drain("dispatch")  # type: ignore[attr-defined]
    assignment.dispatch_one(p, warm)
    booking.book_appointment(p, SHOP, number, offline_booking(clock))
    (first,) = p.publisher.drain("dispatch")  # type: ignore[attr-defined]
    assignment.dispatch_one(p, first, rng=random.Random(1))
    booking.book_appointment(p, SHOP, number, online("pet-1"))
    (msg,) = p.publisher.drain("dispatch")  # type: ignore[attr-defined]
    return a, b, pharmacy, msg


def _trips(store: MemoryStore) -> int:
    return sum(store.calls.values())


def test_a_warm_assignment_makes_few_round_trips_and_a_redelivery_moves_nothing(fake_ports):
    """Four: the claim; today's counts of the rule's providers with the appointment, its open work
    order and its webhook version (one batched read); the decision with its counters, the provider's
    standing and the assignment (one transaction, held by the order's state and version and its lock
    being free); its outbox item's delete."""
    p = fake_ports
    store = p.store
    assert isinstance(store, MemoryStore)
    _, _, pharmacy, msg = _world(p)
    before = _trips(store)
    rec = assignment.dispatch_one(p, msg)
    assert _trips(store) - before == WARM_ROUND_TRIPS
    assert rec.state == "assigned" and rec.decision is not None and rec.decision.provider_id == pharmacy
    appt = views.get_for_staff(p, msg["appointment_id"]).appointment
    assert appt.status == "booking" and appt.provider_id == pharmacy
    assignment.dispatch_one(p, msg)  # redelivered: no counter moves, fulfilment sees the same assignment
    day = rec.decision.business_date
    assert counters.read_counts(p, day, "310115#medicine_delivery") == ({pharmacy: 2}, 2)


def _checkups(p: Ports, a: str, b: str, n: int) -> dict[str, int]:
    """``n`` more check-ups dispatched (handed to a recorder); the clinics' counts after them."""
    for i in range(n):
        rec = assignment.dispatch_one(p, message(f"later-{i}"), rng=random.Random(i), assign=lambda *args: None)
        assert rec.state == "assigned" and rec.decision is not None
    counts, _ = counters.read_counts(p, counters.business_date(p, p.now()), "310115#checkup")
    return {pid: counts.get(pid, 0) for pid in (a, b)}


def test_a_suspension_after_the_cache_was_filled_is_honoured_at_commit(fake_ports):
    p = fake_ports
    a, b, _, _ = _world(p)  # the check-up's dispatch filled the provider cache with both clinics
    before = _checkups(p, a, b, 0)
    status.change_status(p, STAFF, a, "suspend", StatusChange(reason="licence expired"))
    after = _checkups(p, a, b, 8)
    assert after == {a: before[a], b: before[b] + 8}


def test_a_configuration_changed_after_the_cache_was_filled_is_read_again_before_assigning(fake_ports):
    p = fake_ports
    store = p.store
    _, _, pharmacy, msg = _world(p)
    store.update(*partner_keys.config_key(pharmacy), add={"version": 1})  # an approved change since
    rec = assignment.dispatch_one(p, msg)
    assert rec.state == "assigned" and rec.decision is not None and rec.decision.provider_id == pharmacy
    assert rec.decision.attempts == 2  # refused at commit, then decided on the configuration read afresh
    assert counters.read_counts(p, rec.decision.business_date, "310115#medicine_delivery") == ({pharmacy: 2}, 2)


def test_a_provider_activated_after_the_cache_was_filled_gets_the_orders_a_new_rule_sends_it(fake_ports):
    """The cached list predates it (and the listing index may lag): the rule that names it is what counts."""
    p = fake_ports
    store = p.store
    assert isinstance(store, MemoryStore)
    _, _, _, msg = _world(p)  # the cache holds the three providers onboarded before
    newcomer = onboard_provider(p, "New Pharmacy", services=("medicine_delivery",))
    publish(p, rule({newcomer: 100}, service="medicine_delivery"))
    batched = store.calls["get_many"]
    rec = assignment.dispatch_one(p, msg)
    assert rec.state == "assigned" and rec.decision is not None and rec.decision.provider_id == newcomer
    assert store.calls["get_many"] - batched == 2  # the newcomer read in one, as is the order at fulfilment
    assert views.get_for_staff(p, msg["appointment_id"]).appointment.provider_id == newcomer


def test_rules_published_by_another_container_inside_the_cache_window_decide_the_next_order(fake_ports):
    """This container's cached rules send deliveries to the pharmacy; staff publish a rule for the
    newcomer elsewhere. The next order's batched read finds HEAD moved, so it is decided again on the
    new rules and goes to the newcomer: one consistent read of the rules more, no slot taken twice."""
    p = fake_ports
    store = p.store
    assert isinstance(store, MemoryStore)
    _, _, pharmacy, msg = _world(p)  # this container's cache holds the pharmacy's rule
    newcomer = onboard_provider(p, "New Pharmacy", services=("medicine_delivery",))
    publish(dataclasses.replace(p, store=OtherContainer(store)), rule({newcomer: 100}, service="medicine_delivery"))
    rec = assignment.dispatch_one(p, msg)
    assert rec.state == "assigned" and rec.decision is not None and rec.decision.provider_id == newcomer
    assert views.get_for_staff(p, msg["appointment_id"]).appointment.provider_id == newcomer
    counts, total = counters.read_counts(p, rec.decision.business_date, "310115#medicine_delivery")
    assert counts == {pharmacy: 1, newcomer: 1} and total == 2


class ClaimGate:
    """A store whose reads after the claim wait until every worker has tried to claim the order, so
    the claimer is still deciding while the others find its claim (an event, not a sleep)."""

    def __init__(self, inner: Any, workers: int) -> None:
        self._inner = inner
        self._workers = workers
        self._claims = 0
        self._lock = threading.Lock()
        self.all_tried = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def put(self, item: Any, **kw: Any) -> None:
        if str(item.get("pk", "")).startswith("DISPATCH#"):
            with self._lock:
                self._claims += 1
                if self._claims == self._workers:
                    self.all_tried.set()
        self._inner.put(item, **kw)

    def get_many(self, keys: Any) -> Any:
        assert self.all_tried.wait(10), "the other workers never tried to claim"
        return self._inner.get_many(keys)


def test_racing_consumers_of_one_order_assign_it_once(fake_ports):
    """Eight workers get the same message at once: one claims, decides and assigns while the other
    seven find its claim and are told it is in progress; their retries find it assigned, moving nothing."""
    p = fake_ports
    _, _, pharmacy, msg = _world(p)
    gate = ClaimGate(p.store, 8)
    gated = dataclasses.replace(p, store=gate)

    def worker(_: int) -> str:
        try:
            return assignment.dispatch_one(gated, msg).state
        except Conflict as exc:
            return exc.code

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(worker, range(8)))
    assert outcomes == ["DISPATCH_IN_PROGRESS"] * 7 + ["assigned"]
    for _ in range(7):  # the seven retries: nothing moves twice
        assert assignment.dispatch_one(p, msg).state == "assigned"
    day = counters.business_date(p, p.now())
    assert counters.read_counts(p, day, "310115#medicine_delivery") == ({pharmacy: 2}, 2)
    events = [i["data"] for i in p.store.all_items() if i.get("kind") == "webhook_event"]  # type: ignore[attr-defined]
    mine = [e for e in events if msg["appointment_id"] in e]
    assert sum("appointment.assigned" in e for e in mine) == 1, mine


class CancelAfterRead:
    """A store that lets the owner cancel the order right after dispatch's batched read, before its
    transaction (the moment the one-transaction assignment is exposed to)."""

    def __init__(self, p: Ports, appointment_id: str) -> None:
        self._p = p
        self._inner = p.store
        self._aid = appointment_id
        self.cancelled = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def get_many(self, keys: Any) -> Any:
        known = self._inner.get_many(keys)
        if not self.cancelled:
            self.cancelled = True
            closing.cancel(self._p, SHOP, self._aid, "changed my mind")
        return known


def test_an_order_cancelled_between_dispatch_read_and_commit_is_not_assigned(fake_ports):
    p = fake_ports
    *_, msg = _world(p)
    aid = msg["appointment_id"]
    gate = CancelAfterRead(p, aid)
    rec = assignment.dispatch_one(dataclasses.replace(p, store=gate), msg)
    assert gate.cancelled
    assert rec.state == "assigned" and rec.decision is not None and rec.decision.attempts == 1
    appt = views.get_for_staff(p, aid).appointment
    assert appt.status == "cancelled" and appt.provider_id is None
    events = [i["data"] for i in p.store.all_items() if i.get("kind") == "webhook_event"]  # type: ignore[attr-defined]
    assert not any("appointment.assigned" in e and aid in e for e in events)


def test_an_order_whose_lock_is_held_is_assigned_once_the_holder_is_done(fake_ports, monkeypatch):
    """Someone is changing the order when dispatch commits: the decision settles with its slot, the
    assignment waits for the lock, and the redelivered message assigns it without counting again."""
    p = fake_ports
    monkeypatch.setattr(locks, "sleep", lambda _s: None)
    _, _, pharmacy, msg = _world(p)
    aid = msg["appointment_id"]
    lease = locks.try_acquire(p, aid, "FUL")
    assert lease is not None
    with pytest.raises(Conflict) as refused:
        assignment.dispatch_one(p, msg)
    assert refused.value.code == "ORDER_LOCKED"
    assert views.get_for_staff(p, aid).appointment.status == "pending"
    locks.release(p, lease)
    rec = assignment.dispatch_one(p, msg)  # SQS delivers it again
    assert rec.state == "assigned" and rec.decision is not None and rec.decision.provider_id == pharmacy
    appt = views.get_for_staff(p, aid).appointment
    assert appt.status == "booking" and appt.provider_id == pharmacy
    assert counters.read_counts(p, rec.decision.business_date, "310115#medicine_delivery") == ({pharmacy: 2}, 2)
