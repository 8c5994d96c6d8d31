"""A provider declines a work order: the order is dispatched again without it, whatever arrives late."""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from petcover.errors import BusinessRuleViolation, DomainError, IllegalTransition, NotFound
from petcover.identity import Principal
from petcover.models.dispatch import ManualAssignRequest
from petcover.models.fulfilment import DeclineRequest
from petcover.services import timeline
from petcover.services.dispatch import assignment as dispatch
from petcover.services.dispatch import counters
from petcover.services.dispatch import manual as ops_dispatch
from petcover.services.fulfilment import booking, declines, views, work_orders
from tests.support.blobs import FakeBlobs
from tests.support.bookings import OPS, SHOP, offline, setup_world
from tests.support.dispatch import publish, rule
from tests.support.policies import issue_policy
from tests.support.providers import onboard_provider

SCOPE = "310115#checkup"


def _world(p: Any, shares: Callable[[str, str], dict[str, int]]) -> tuple[Any, str, str, str]:
    """Two reviewed clinics in Pudong, the rule ``shares(a, b)``, a policy; returns (clock, a, b, number)."""
    clock, number = setup_world(p)
    p.blobs = FakeBlobs()
    dispatch.clear_caches()
    a = onboard_provider(p, "Clinic A")
    b = onboard_provider(p, "Clinic B")
    publish(p, rule(shares(a, b)))
    return clock, a, b, number


def _booked_to(p: Any, clock: Any, number: str, pet: str = "pet-1") -> tuple[str, dict[str, Any]]:
    """Books a check-up and runs its dispatch message; returns the appointment and that message."""
    aid = booking.book_appointment(p, SHOP, number, offline(clock, pet=pet)).appointment_id
    (msg,) = p.publisher.drain("dispatch")
    dispatch.dispatch_one(p, msg, rng=random.Random(7))
    return aid, msg


def test_a_declined_order_goes_to_another_provider_and_the_slot_is_given_back(fake_ports):
    p = fake_ports
    clock, a, b, number = _world(p, lambda a, b: {a: 90, b: 10})
    aid, first = _booked_to(p, clock, number)
    assert views.get_for_staff(p, aid).appointment.provider_id == a
    day = ops_dispatch.explain(p, aid).decision.business_date

    out = declines.decline(p, Principal("provider", a), aid, DeclineRequest(reason="vet on leave this week"))
    assert out.redispatch and out.reason == "vet on leave this week"
    doc = views.get_for_staff(p, aid).appointment
    assert doc.status == "pending" and doc.provider_id is None
    assert [d.provider_id for d in doc.declines] == [a]
    assert work_orders.list_work_orders(p, Principal("provider", a)).items == []
    assert timeline.open_orders(p, a) == []  # the SLA no longer waits for clinic A
    (again,) = p.publisher.drain("dispatch")
    assert again["round"] == 1 and again["declined"] == {a: "vet on leave this week"}

    rec = dispatch.dispatch_one(p, again, rng=random.Random(7))
    assert rec.decision is not None and rec.decision.provider_id == b
    assert rec.decision.excluded[a] == "declined the order: vet on leave this week"
    assert [d.provider_id for d in rec.history] == [a]
    assert views.get_for_staff(p, aid).appointment.provider_id == b
    assert counters.read_counts(p, day, SCOPE) == ({a: 0, b: 1}, 1)  # clinic A's slot was given back
    assert [o.provider_id for o in timeline.open_orders(p, b)] == [b]

    # the first round's message arrives late: it is stale and moves nothing
    dispatch.dispatch_one(p, first, rng=random.Random(7))
    assert views.get_for_staff(p, aid).appointment.provider_id == b
    assert counters.read_counts(p, day, SCOPE) == ({a: 0, b: 1}, 1)
    # the channel sees the order without the providers' reasons
    assert views.get_for_channel(p, SHOP, aid).declines == []


def test_the_exclusion_holds_for_every_later_round_and_for_ops(fake_ports):
    p = fake_ports
    clock, a, b, number = _world(p, lambda a, b: {a: 50, b: 50})
    aid, _ = _booked_to(p, clock, number)
    first = views.get_for_staff(p, aid).appointment.provider_id
    second = b if first == a else a
    declines.decline(p, Principal("provider", first), aid, DeclineRequest(reason="fully booked"))
    (msg,) = p.publisher.drain("dispatch")
    dispatch.dispatch_one(p, msg)
    assert views.get_for_staff(p, aid).appointment.provider_id == second
    declines.decline(p, Principal("provider", second), aid, DeclineRequest(reason="no vet for cats"))
    (msg,) = p.publisher.drain("dispatch")
    assert msg["round"] == 2 and set(msg["declined"]) == {a, b}
    rec = dispatch.dispatch_one(p, msg)
    assert rec.state == "manual"  # nobody left: the operations queue, never back to a decliner
    doc = views.get_for_staff(p, aid).appointment
    assert doc.status == "booking" and doc.manual and doc.provider_id is None
    assert [e.appointment_id for e in ops_dispatch.manual_queue(p).items] == [aid]
    with pytest.raises(BusinessRuleViolation) as err:
        ops_dispatch.manual_assign(p, OPS, aid, ManualAssignRequest(provider_id=a, reason="call them"))
    assert err.value.code == "PROVIDER_DECLINED"
    c = onboard_provider(p, "Clinic C")
    ops_dispatch.manual_assign(p, OPS, aid, ManualAssignRequest(provider_id=c, reason="new clinic nearby"))
    assert views.get_for_staff(p, aid).appointment.provider_id == c


def test_a_late_message_of_the_same_round_never_hands_the_order_back(fake_ports):
    p = fake_ports
    clock, a, _b, number = _world(p, lambda a, b: {a: 100, b: 0})
    aid, first = _booked_to(p, clock, number)
    declines.decline(p, Principal("provider", a), aid, DeclineRequest(reason="closed for renovation"))
    p.publisher.drain("dispatch")  # the new round's message is delayed; the old one comes again first
    dispatch.dispatch_one(p, first)
    doc = views.get_for_staff(p, aid).appointment
    assert doc.status == "pending" and doc.provider_id is None


def test_decline_refusals_and_a_repeated_decline(fake_ports):
    p = fake_ports
    clock, a, b, number = _world(p, lambda a, b: {a: 100, b: 0})
    aid, _ = _booked_to(p, clock, number)
    with pytest.raises(NotFound):
        declines.decline(p, Principal("provider", b), aid, DeclineRequest(reason="not mine"))
    once = declines.decline(p, Principal("provider", a), aid, DeclineRequest(reason="no slot"))
    twice = declines.decline(p, Principal("provider", a), aid, DeclineRequest(reason="no slot"))
    assert once == twice
    assert len(p.publisher.drain("dispatch")) == 1  # the retry dispatched nothing more

    other, _ = _booked_to(p, clock, issue_policy(p, clock, order="o-2", pet="pet-2"), pet="pet-2")
    work_orders.accept(p, Principal("provider", a), other)
    with pytest.raises(IllegalTransition) as err:
        declines.decline(p, Principal("provider", a), other, DeclineRequest(reason="changed my mind"))
    assert err.value.message == "Appointment already accepted, cannot decline it; ask operations to reassign it."


@pytest.fixture
def interleave():
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _race(fns: list[Callable[[], Any]]) -> list[str]:
    barrier = threading.Barrier(len(fns))
    out = [""] * len(fns)

    def run(i: int) -> None:
        barrier.wait()
        try:
            fns[i]()
            out[i] = "ok"
        except DomainError as exc:
            out[i] = exc.code
        except Exception as exc:  # a crash is a bug: keep it visible
            out[i] = f"crash:{type(exc).__name__}:{exc}"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return out


def test_decline_against_accept_exactly_one_wins_and_a_redelivered_round_counts_once(fake_ports, interleave):
    p = fake_ports
    clock, a, b, _ = _world(p, lambda a, b: {a: 100, b: 0})
    clinic = Principal("provider", a)
    declined: list[str] = []
    messages: list[dict[str, Any]] = []
    for i in range(4):
        pet = f"pet-r{i}"
        aid, _ = _booked_to(p, clock, issue_policy(p, clock, order=f"race-{i}", pet=pet), pet=pet)
        decline = partial(declines.decline, p, clinic, aid, DeclineRequest(reason="busy"))
        accept = partial(work_orders.accept, p, clinic, aid)
        out = _race([decline if j % 2 == 0 else accept for j in range(8)])
        assert not [o for o in out if o.startswith("crash")], out
        doc = views.get_for_staff(p, aid).appointment
        sent = p.publisher.drain("dispatch")
        if doc.status == "booked":  # the accept won: no decline kept, nothing dispatched again
            assert doc.declines == [] and sent == [] and doc.provider_id == a
        else:
            assert doc.status == "pending" and [d.provider_id for d in doc.declines] == [a] and len(sent) == 1
            declined.append(aid)
            messages += sent
    if not declined:  # every race went to the accept: decline one more order on its own
        aid, _ = _booked_to(p, clock, issue_policy(p, clock, order="race-x", pet="pet-x"), pet="pet-x")
        declines.decline(p, clinic, aid, DeclineRequest(reason="busy"))
        declined.append(aid)
        messages += p.publisher.drain("dispatch")
    msg = next(m for m in messages if m["appointment_id"] == declined[0])
    day = ops_dispatch.explain(p, declined[0]).decision.business_date
    before_a, before_total = counters.read_counts(p, day, SCOPE)
    out = _race([partial(dispatch.dispatch_one, p, msg) for _ in range(8)])
    assert not [o for o in out if o.startswith("crash")], out
    assert set(out) <= {"ok", "DISPATCH_IN_PROGRESS", "ORDER_LOCKED"}, out
    dispatch.dispatch_one(p, msg)  # whatever lost the race comes back: it settles the same decision
    assert views.get_for_staff(p, declined[0]).appointment.provider_id == b
    counts, total = counters.read_counts(p, day, SCOPE)
    assert counts[a] == before_a[a] - 1 and counts[b] == before_a.get(b, 0) + 1 and total == before_total
