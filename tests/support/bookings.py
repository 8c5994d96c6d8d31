"""A fulfilment world (catalogue, two clinics, one policy) and the bookings made in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from petcover.identity import Principal
from petcover.models.fulfilment import Address, BookingRequest, Pet
from petcover.ports import Ports
from petcover.services import quota
from petcover.services.fulfilment import assignment, booking, views, work_orders
from tests.support.clock import Clock
from tests.support.fixtures import catalogue
from tests.support.policies import issue_policy
from tests.support.providers import provider_account

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
SHOP = Principal("channel", "shop-a")
CLINIC = Principal("provider", "clinic-a")
OPS = Principal("ops", "alice", ("ops",))


def setup_world(p: Ports) -> tuple[Clock, str]:
    """Installs a clock at ``T0`` on ``p`` and returns it with the number of a policy issued 30 days before."""
    clock = Clock(T0 - timedelta(days=60))  # the catalogue was published before the policies
    p.clock = clock
    catalogue(p, ("shop-a", "shop-b"))
    clock.now = T0
    provider_account(p, "clinic-a")
    provider_account(p, "clinic-b")
    return clock, issue_policy(p, clock)


def address(**over: Any) -> Address:
    data = {
        "contact_name": "Li Lei",
        "phone": "+86 138 0000 0000",
        "line": "Room 1, 100 Century Avenue",
        "province": "310000",
        "city": "310100",
        "district": "310115",
        **over,
    }
    return Address.model_validate(data)


def online(pet: str = "pet-1") -> BookingRequest:
    return BookingRequest(benefit_code="medicine-delivery", pet=Pet(pet_id=pet, name="Bobo"), address=address())


def offline(clock: Clock, pet: str = "pet-1") -> BookingRequest:
    return BookingRequest(
        benefit_code="annual-checkup",
        pet=Pet(pet_id=pet, name="Bobo"),
        address=address(),
        preferred_time=clock.now + timedelta(days=2),
    )


def balance(p: Ports, number: str, benefit: str) -> tuple[int, int, int]:
    """``(used, held, available)`` of one benefit's quota."""
    q = quota.balance(p, number, benefit)
    assert q is not None
    return int(q["used"]), int(q["held"]), int(q["available"])


def to_booked(p: Ports, req: BookingRequest, number: str, provider: str = "clinic-a") -> str:
    """Books, assigns to ``provider`` and has it accept; the clock moves 30 s before and after accepting."""
    aid = booking.book_appointment(p, SHOP, number, req).appointment_id
    assignment.assign(p, aid, provider, {"step": "share", "reason": "test", "candidates": [{}, {}]})
    p.clock.advance(seconds=30)  # type: ignore[attr-defined]
    work_orders.accept(p, Principal("provider", provider), aid)
    p.clock.advance(seconds=30)  # type: ignore[attr-defined]
    return aid


def code_of(p: Ports, aid: str) -> str:
    """The check-in code the channel sees for an appointment."""
    ci = views.get_for_channel(p, SHOP, aid).checkin
    assert ci is not None
    return ci.code
