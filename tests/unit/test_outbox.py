"""A crash (or an outage) between the commit and the publish loses nothing: the outbox sweeper sends it."""

from datetime import timedelta

import pytest

from petcover.identity import Principal
from petcover.models.fulfilment import ShipRequest
from petcover.models.policies import CancelRequest, UnderwriteRequest
from petcover.observability import correlation_id, set_correlation_id
from petcover.ports import Put
from petcover.services import outbox, policies, timeline
from petcover.services.fulfilment import assignment, booking, closing, work_orders
from petcover.services.webhooks import events as webhook_events
from tests.robustness.faults import Killed
from tests.support.bookings import CLINIC, online, setup_world
from tests.support.fixtures import catalogue

SHOP = Principal("channel", "shop-a")


class Down:
    """A publisher that is down until brought back up."""

    def __init__(self, inner):
        self.inner, self.up = inner, False

    def send(self, queue, bodies, *, delay_seconds=0):
        if not self.up:
            raise ConnectionError("queue unreachable")
        self.inner.send(queue, bodies, delay_seconds=delay_seconds)

    def emit(self, detail_type, details):
        if not self.up:
            raise ConnectionError("bus unreachable")
        self.inner.emit(detail_type, details)


@pytest.fixture
def p(fake_ports):
    catalogue(fake_ports, ("shop-a",))
    return fake_ports


def test_policy_cancelled_event_survives_a_failed_emit(p):
    pol = policies.underwrite(
        p,
        SHOP,
        UnderwriteRequest.model_validate(
            {
                "product_code": "pet-health",
                "plan_code": "basic",
                "channel_order_id": "o-1",
                "holder": {"name": "A"},
                "insured": {
                    "insured_id": "pet-1",
                    "species": "dog",
                    "breed_size": "small",
                    "age_months": 30,
                    "region": "310115",
                },
            }
        ),
    )
    real = p.publisher
    p.publisher = Down(real)
    out = policies.cancel(p, SHOP, pol.number, CancelRequest(reason="moving"))
    assert out.policy.status == "cancelled"  # the state change stands
    assert real.events == []
    assert outbox.sweep(p) == {"sent": 0}  # too fresh: the releasing caller may still be at it
    later = p.now() + timedelta(seconds=61)
    p.clock = lambda: later
    with pytest.raises(RuntimeError):
        outbox.sweep(p)  # still down: kept for the next sweep
    p.publisher.up = True
    assert outbox.sweep(p) == {"sent": 1}
    assert [t for t, _ in real.events] == ["PolicyCancelled"]
    assert outbox.sweep(p) == {"sent": 0}  # sent once


def test_release_publishes_at_once_when_the_publisher_is_up(p):
    op, oid = outbox.message(p, queue="dispatch", body={"appointment_id": "a-1"})
    p.store.transact([op])
    assert outbox.release(p, oid) is True
    assert [m["appointment_id"] for m in p.publisher.drain("dispatch")] == ["a-1"]
    assert p.store.get(f"OUTBOX#{oid}", "OUTBOX") is None


class Recording:
    """A publisher that remembers the correlation id each message went out under."""

    def __init__(self, inner, during=None):
        self.inner, self.during, self.seen = inner, during, []

    def send(self, queue, bodies, *, delay_seconds=0):
        self.seen += [(queue, b, correlation_id()) for b in bodies]
        if self.during is not None:
            during, self.during = self.during, None
            during()
        self.inner.send(queue, bodies, delay_seconds=delay_seconds)

    def emit(self, detail_type, details):
        self.seen += [(detail_type, d, correlation_id()) for d in details]
        self.inner.emit(detail_type, details)


def _later(p, seconds):
    at = p.now() + timedelta(seconds=seconds)
    p.clock = lambda: at


def test_a_swept_message_goes_out_under_the_correlation_id_of_the_request_that_wrote_it(p):
    set_correlation_id("request-1")
    op, _ = outbox.message(p, queue="dispatch", body={"appointment_id": "a-1"})
    p.store.transact([op])  # and the process died before releasing it
    set_correlation_id("sweep-run")
    p.publisher = Recording(p.publisher)
    _later(p, 61)
    assert outbox.sweep(p) == {"sent": 1}
    assert p.publisher.seen == [("dispatch", {"appointment_id": "a-1"}, "request-1")]
    assert correlation_id() == "sweep-run"  # the sweep goes on under its own


def test_two_overlapping_sweeps_never_both_publish_one_message(p):
    """A second sweep starts while the first is publishing: the first one's hold keeps it off."""
    op, _ = outbox.message(p, queue="dispatch", body={"appointment_id": "a-1"})
    p.store.transact([op])  # never released
    swept = []
    p.publisher = Recording(p.publisher, during=lambda: swept.append(outbox.sweep(p)))
    _later(p, 61)
    assert outbox.sweep(p) == {"sent": 1}
    assert swept == [{"sent": 0}]
    assert [q for q, _, _ in p.publisher.seen] == ["dispatch"]
    assert outbox.sweep(p) == {"sent": 0}


def test_a_fresh_message_is_left_to_its_writer(p):
    """The writer releases right after its commit; the sweeper waits a minute (three API timeouts)."""
    op, oid = outbox.message(p, queue="dispatch", body={"appointment_id": "a-1"})
    p.store.transact([op])
    _later(p, outbox.SWEEP_AFTER.total_seconds() - 1)
    assert outbox.sweep(p) == {"sent": 0}
    assert outbox.release(p, oid) is True
    assert [m["appointment_id"] for m in p.publisher.drain("dispatch")] == ["a-1"]


def test_a_publisher_that_died_holding_a_message_delays_it_to_the_next_sweep_only(p):
    op, _ = outbox.message(p, queue="dispatch", body={"appointment_id": "a-1"})
    p.store.transact([op])
    real = p.publisher

    class Dies:
        def send(self, *a, **k):
            raise Killed("process killed mid-publish")

    p.publisher = Dies()
    _later(p, 61)
    with pytest.raises(Killed):
        outbox.sweep(p)  # it took the message, then died
    p.publisher = real
    _later(p, 10)
    assert outbox.sweep(p) == {"sent": 0}  # still held by the dead run
    _later(p, outbox.CLAIM_FOR.total_seconds())
    assert outbox.sweep(p) == {"sent": 1}
    assert [m["appointment_id"] for m in real.drain("dispatch")] == ["a-1"]


def test_a_failed_publish_is_counted_and_retried_by_the_next_sweep(p):
    op, oid = outbox.message(p, queue="dispatch", body={"appointment_id": "a-1"})
    p.store.transact([op])
    real = p.publisher
    p.publisher = Down(real)
    assert outbox.release(p, oid) is False
    item = p.store.get(f"OUTBOX#{oid}", "OUTBOX")
    assert item is not None and item.get("attempts") == 1 and item.get("fence") is None  # not held
    p.publisher.up = True
    _later(p, 61)
    assert outbox.sweep(p) == {"sent": 1}
    assert p.store.get(f"OUTBOX#{oid}", "OUTBOX") is None


def test_a_message_no_queue_would_take_is_refused_before_the_commit(p):
    with pytest.raises(ValueError, match="limit"):
        outbox.message(p, queue="dispatch", body={"note": "x" * (outbox.MAX_BODY_BYTES + 1)})


def test_the_memory_store_refuses_what_dynamodb_refuses(p):
    puts = [Put({"pk": f"K#{i}", "sk": "S"}) for i in range(101)]
    with pytest.raises(ValueError, match="at most 100"):
        p.store.transact(puts)
    with pytest.raises(ValueError, match="twice"):
        p.store.transact([Put({"pk": "K", "sk": "S"}), Put({"pk": "K", "sk": "S", "n": 1})])
    with pytest.raises(ValueError, match="bytes"):
        p.store.put({"pk": "K", "sk": "S", "data": "x" * 410_000})
    p.store.transact(puts[:100])  # 100 is fine


def test_an_appointment_whose_publishes_all_failed_announces_everything_once_in_order(fake_ports):
    """Booked, assigned, accepted, shipped, fulfilled while every queue is down: each change stands
    with its timeline node; the sweeper then sends every webhook once, in version order, with the
    dispatch and deduction requests."""
    p = fake_ports
    clock, number = setup_world(p)
    real = p.publisher
    p.publisher = Down(real)
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    assignment.assign(p, aid, "clinic-a", {"step": "share", "reason": "test"})
    for step in (
        lambda: work_orders.accept(p, CLINIC, aid),
        lambda: work_orders.ship(p, CLINIC, aid, ShipRequest(carrier="SF", tracking_number="SF12345")),
        lambda: closing.confirm_receipt(p, SHOP, aid),
    ):
        clock.advance(seconds=30)
        step()
    assert [n.node for n in timeline.nodes(p, aid)] == ["assigned", "accepted", "shipped", "completed"]
    assert real.sent == {}
    p.publisher.up = True
    clock.advance(seconds=61)
    assert outbox.sweep(p) == {"sent": 7}
    assert outbox.sweep(p) == {"sent": 0}
    assert [m["appointment_id"] for m in real.drain("dispatch")] == [aid]
    assert [m["appointment_id"] for m in real.drain("quota")] == [aid]
    hooks = [webhook_events.event(p, m["event_id"])[0] for m in real.drain("webhook")]
    assert sorted((e.version, e.event_type) for e in hooks) == [
        (1, "appointment.booked"),
        (2, "appointment.assigned"),
        (3, "appointment.accepted"),
        (4, "appointment.shipped"),
        (5, "appointment.fulfilled"),
    ]
