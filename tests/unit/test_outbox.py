"""A crash (or an outage) between the commit and the publish loses nothing: the outbox sweeper sends it."""

from datetime import timedelta

import pytest

from petcover.identity import Principal
from petcover.models.policies import CancelRequest, UnderwriteRequest
from petcover.services import outbox, policies
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
