"""Dispatch with the real fulfilment.assignment.assign: a booked appointment's queue message, end to end in memory."""

from __future__ import annotations

import random

import pytest

from petcover.errors import Conflict
from petcover.identity import Principal
from petcover.models.dispatch import ManualAssignRequest
from petcover.services.dispatch import assignment, counters
from petcover.services.dispatch import manual as ops
from petcover.services.fulfilment import booking, views, work_orders
from tests.support.blobs import FakeBlobs
from tests.support.bookings import OPS, SHOP, online, setup_world
from tests.support.bookings import offline as offline_booking
from tests.support.dispatch import publish, rule
from tests.support.providers import onboard_provider


def test_a_booked_appointment_is_dispatched_and_fulfilment_moves_it(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    p.blobs = FakeBlobs()
    assignment.clear_caches()
    a = onboard_provider(p, "Clinic A")
    b = onboard_provider(p, "Clinic B")
    pharmacy = onboard_provider(p, "Pharmacy", services=("medicine_delivery",))
    publish(p, rule({a: 60, b: 40}))

    # offline check-up in Pudong: a rule covers it
    checkup = booking.book_appointment(p, SHOP, number, offline_booking(clock)).appointment_id
    (msg,) = p.publisher.drain("dispatch")  # type: ignore[attr-defined]
    assert msg["appointment_id"] == checkup and msg["service_type"] == "checkup"
    rec = assignment.dispatch_one(p, msg, rng=random.Random(1))
    appt = views.get_for_staff(p, checkup).appointment
    assert appt.status == "booking" and appt.provider_id == rec.decision.provider_id in (a, b)
    assignment.dispatch_one(p, msg)  # redelivered: fulfilment sees the same assignment, nothing moves
    assert views.get_for_staff(p, checkup).appointment.provider_id == rec.decision.provider_id
    assert sum(counters.read_counts(p, rec.decision.business_date, "310115#checkup")[0].values()) == 1

    # medicine delivery: no rule, so the operations queue on both sides, then ops assign it by hand
    delivery = booking.book_appointment(p, SHOP, number, online("pet-1")).appointment_id
    (msg,) = p.publisher.drain("dispatch")  # type: ignore[attr-defined]
    manual = assignment.dispatch_one(p, msg)
    assert manual.state == "manual"
    appt = views.get_for_staff(p, delivery).appointment
    assert appt.status == "booking" and appt.manual and appt.provider_id is None
    ops.manual_assign(p, OPS, delivery, ManualAssignRequest(provider_id=pharmacy, reason="nearest pharmacy"))
    appt = views.get_for_staff(p, delivery).appointment
    assert appt.provider_id == pharmacy and not appt.manual
    assert ops.manual_queue(p).items == []


def test_ops_cannot_move_an_appointment_the_provider_already_accepted(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    p.blobs = FakeBlobs()
    assignment.clear_caches()
    a = onboard_provider(p, "Clinic A")
    b = onboard_provider(p, "Clinic B")
    publish(p, rule({a: 100, b: 0}))
    aid = booking.book_appointment(p, SHOP, number, offline_booking(clock)).appointment_id
    (msg,) = p.publisher.drain("dispatch")  # type: ignore[attr-defined]
    rec = assignment.dispatch_one(p, msg)
    assert rec.decision is not None and rec.decision.provider_id == a
    work_orders.accept(p, Principal("provider", a), aid)
    with pytest.raises(Conflict):
        ops.manual_assign(p, OPS, aid, ManualAssignRequest(provider_id=b, reason="closer"))
    after = ops.explain(p, aid)  # fulfilment refused, so nothing moved on the dispatch side
    assert after.state == "assigned" and after.decision == rec.decision and after.version == rec.version
    assert counters.read_counts(p, rec.decision.business_date, "310115#checkup") == ({a: 1}, 1)
    assert views.get_for_staff(p, aid).appointment.provider_id == a
