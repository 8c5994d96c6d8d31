"""A booking's idempotency record is written by the booking's own transaction: through the adapter
on the thread-safe MemoryStore, repeats racing the first call all answer its appointment, and a warm
booking costs four round trips."""

from __future__ import annotations

import json
import sys
import threading
from datetime import timedelta
from typing import Any

import pytest

from petcover import authentication
from petcover.ports import Ports
from petcover.services import credentials
from petcover.storage.memory import MemoryStore
from tests.support import events
from tests.support.bookings import setup_world
from tests.support.calls import handler_of, sign

BODY = {
    "benefit_code": "medicine-delivery",
    "pet": {"pet_id": "pet-1", "name": "Bobo"},
    "address": {
        "contact_name": "Li Lei",
        "phone": "+86 138 0000 0000",
        "line": "Room 1, 100 Century Avenue",
        "province": "310000",
        "city": "310100",
        "district": "310115",
    },
}


def _book(p: Ports, key: tuple[str, str], number: str, idem: str, body: dict[str, Any] = BODY) -> dict[str, Any]:
    ev = events.api(
        "BookAppointmentFunction", path_params={"number": number}, body=body, headers={"Idempotency-Key": idem}
    )
    sign(ev, *key, now=int(p.now().timestamp()))
    return handler_of("BookAppointmentFunction")(ev, None)  # type: ignore[no-any-return]


@pytest.fixture
def world(fake_ports: Ports) -> tuple[Ports, tuple[str, str], str]:
    _, number = setup_world(fake_ports)
    key = credentials.issue(fake_ports, "channel", "shop-a")
    return fake_ports, (key.key_id, key.secret), number


def test_sixteen_repeats_at_once_answer_one_appointment_and_hold_one_use(world, monkeypatch):
    p, key, number = world
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # really overlap
    barrier = threading.Barrier(16)
    answers: list[dict[str, Any]] = [{}] * 16

    def run(i: int) -> None:
        barrier.wait()
        answers[i] = _book(p, key, number, "same-key")

    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(before)
    assert [a["statusCode"] for a in answers] == [201] * 16, [a["body"] for a in answers]
    assert len({json.loads(a["body"])["appointment_id"] for a in answers}) == 1
    assert sum(a["headers"].get("Idempotency-Replayed") == "true" for a in answers) == 15
    appointments = [i for (pk, _), i in p.store._items.items() if pk.startswith("APPT#") and i.get("kind")]  # type: ignore[attr-defined]
    assert len({i["pk"] for i in appointments}) == 1


def test_a_booking_that_writes_no_record_is_a_defect_not_an_unrecorded_success(world, monkeypatch):
    from petcover.services.fulfilment import booking

    p, key, number = world
    real = booking.book_appointment
    monkeypatch.setattr(booking, "book_appointment", lambda p, who, n, req, record=None: real(p, who, n, req))
    assert _book(p, key, number, "k-1")["statusCode"] == 500


def test_a_warm_booking_costs_four_round_trips(world, monkeypatch):
    """The nonce, the policy with its balances, the booking transaction (with its idempotency record
    and outbox messages), and the outbox items' delete after publishing them from memory."""
    monkeypatch.setattr(authentication, "enforce_rate", lambda *args: None)  # batched: test_rate_limit.py
    p, key, number = world
    store = p.store
    assert isinstance(store, MemoryStore)
    checkup = {**BODY, "benefit_code": "annual-checkup", "preferred_time": (p.now() + timedelta(days=2)).isoformat()}
    assert _book(p, key, number, "warm-1", checkup)["statusCode"] == 201  # caches warm: key, channel, contract
    before = sum(store.calls.values())
    assert _book(p, key, number, "warm-2")["statusCode"] == 201
    assert sum(store.calls.values()) - before == 4
