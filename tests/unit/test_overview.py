"""The overview's counters: each moves in the transaction of the change it counts, and only then."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from petcover.domain import sla
from petcover.errors import DomainError
from petcover.identity import Principal
from petcover.models.claims import ApproveRequest, AssessRequest, PayRequest
from petcover.models.dispatch import ManualAssignRequest
from petcover.models.fulfilment import ShipRequest
from petcover.models.overview import DeadLetterDepth
from petcover.models.policies import CancelRequest
from petcover.ports import Ports
from petcover.repositories import overview as repo
from petcover.services import overview, policies, timeline
from petcover.services.claims import payouts as claim_payouts
from petcover.services.claims import review, submission
from petcover.services.dispatch import assignment, manual
from petcover.services.fulfilment import booking, closing, work_orders
from petcover.services.sla import check
from tests.support.bookings import CLINIC, SHOP, online, setup_world, to_booked
from tests.support.chat import lookup
from tests.support.claims import SHOP_A, pet_policy, vet_claim
from tests.support.clock import Clock
from tests.support.dispatch import Assigned, message, publish, rule
from tests.support.fixtures import catalogue
from tests.support.providers import STAFF, onboard_provider

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 on 2026-11-22 in Shanghai
ASSESSOR = Principal("ops", "ann", ("underwriter",))
FINANCE = Principal("ops", "fay", ("finance",))


def today(p: Ports) -> dict[str, Any]:
    return overview.overview(p).today.model_dump()


@pytest.fixture
def p(fake_ports: Ports) -> Ports:
    clock = Clock(T0 - timedelta(days=60))
    fake_ports.clock = clock
    catalogue(fake_ports, ("shop-a",))
    clock.now = T0
    return fake_ports


# ---------------------------------------------------------------- money and claims


def test_an_issued_policy_counts_once_with_its_premium(p):
    pol = pet_policy(p, "o-1")
    t = today(p)
    assert t["policies_issued"] == 1 and t["premium"] == pol.premium
    with pytest.raises(DomainError):
        pet_policy(p, "o-1", pet="pet-2")  # the same order id again: refused, so not counted
    assert today(p)["policies_issued"] == 1


def test_a_cancellation_counts_with_its_refund(p):
    pol = pet_policy(p, "o-2")
    out = policies.cancel(p, SHOP_A, pol.number, CancelRequest(reason="changed mind"))
    t = today(p)
    assert t["cancellations"] == 1 and t["refunds"] == out.refund > 0
    with pytest.raises(DomainError):
        policies.cancel(p, SHOP_A, pol.number, CancelRequest(reason="again"))
    assert today(p)["cancellations"] == 1


def test_claims_opened_and_paid_count_with_the_amount_paid(p):
    pol = pet_policy(p, "o-3")
    c = submission.submit(p, SHOP_A, pol.number, vet_claim(p, "800.00"))
    assert today(p)["claims_opened"] == 1 and today(p)["claims_paid"] == 0
    review.assess(p, ASSESSOR, c.claim_number, AssessRequest(note="ok"))
    review.approve(p, ASSESSOR, c.claim_number, ApproveRequest(amount=Decimal("750.00")))
    claim_payouts.pay(p, FINANCE, c.claim_number, PayRequest(reference="TX-1"))
    t = today(p)
    assert (t["claims_opened"], t["claims_paid"], t["claims_paid_amount"]) == (1, 1, Decimal("750.00"))
    with pytest.raises(DomainError):
        claim_payouts.pay(p, FINANCE, c.claim_number, PayRequest(reference="TX-1"))
    assert today(p)["claims_paid"] == 1


# ---------------------------------------------------------------- fulfilment


def test_bookings_fulfilment_and_cancellations_give_the_fulfilment_rate(fake_ports):
    p = fake_ports
    _, number = setup_world(p)
    first = to_booked(p, online(), number)
    assert today(p)["bookings"] == 1 and today(p)["fulfilment_rate"] is None
    work_orders.ship(p, CLINIC, first, ShipRequest(carrier="SF", tracking_number="SF0001"))
    closing.confirm_receipt(p, SHOP, first)
    second = booking.book_appointment(p, SHOP, number, online()).appointment_id
    closing.cancel(p, SHOP, second, "no longer needed")
    t = today(p)
    assert (t["bookings"], t["fulfilled"], t["appointments_cancelled"]) == (2, 1, 1)
    assert t["fulfilment_rate"] == 0.5


# ---------------------------------------------------------------- gauges


def test_an_sla_breach_opens_the_gauge_and_the_next_node_closes_it(p):
    args: dict[str, Any] = {"service_type": "vaccination", "region": "310115", "online": False}
    timeline.record(p, order_id="WO-1", provider_id="prov-a", node=sla.ASSIGNED, at=T0, **args)
    late = T0 + timedelta(minutes=31)
    p.clock.set(late)  # type: ignore[attr-defined]
    check.check_breaches(p, chat=lookup({}))
    check.check_breaches(p, chat=lookup({}))  # the same breach again moves nothing
    o = overview.overview(p)
    assert o.open_sla_breaches == 1 and o.today.sla_breaches == 1
    timeline.record(p, order_id="WO-1", provider_id="prov-a", node=sla.ACCEPTED, at=late, **args)
    o = overview.overview(p)
    assert o.open_sla_breaches == 0 and o.today.sla_breaches == 1


def test_a_breach_found_after_the_order_moved_on_is_counted_but_not_open(p):
    args: dict[str, Any] = {"service_type": "vaccination", "region": "310115", "online": False}
    timeline.record(p, order_id="WO-2", provider_id="prov-a", node=sla.ASSIGNED, at=T0, **args)
    wo = timeline.open_orders(p)[0]
    late = T0 + timedelta(minutes=31)
    timeline.record(p, order_id="WO-2", provider_id="prov-a", node="cancelled", at=late, **args)
    p.clock.set(late)  # type: ignore[attr-defined]
    breach = sla.SlaBreach(
        order_id="WO-2",
        provider_id="prov-a",
        service_type="vaccination",
        node=sla.ACCEPTED,
        entered_at=wo.entered_at,
        due_at=T0 + timedelta(minutes=30),
        limit=timedelta(minutes=30),
        detected_at=late,
        region="310115",
    )
    assert check._record_breach(p, breach) is True
    o = overview.overview(p)
    assert o.open_sla_breaches == 0 and o.today.sla_breaches == 1


def test_the_manual_queue_gauge_follows_the_queue(fake_ports):
    p = fake_ports
    p.clock = lambda: T0
    a = onboard_provider(p, "Clinic A")
    publish(p, rule({a: 100}))
    hangzhou = {"province": "330000", "city": "330100", "district": "330106"}
    for i in (1, 2):
        assert assignment.dispatch_one(p, message(i, region=hangzhou), assign=Assigned()).state == "manual"
    assert overview.overview(p).manual_queue == 2 == len(manual.manual_queue(p).items)
    zj = onboard_provider(p, "Hangzhou Vet", regions=({"province": "330000"},))
    body = ManualAssignRequest(provider_id=zj, reason="called the clinic")
    manual.manual_assign(p, STAFF, "ap-1", body, assign=Assigned())
    manual.manual_assign(p, STAFF, "ap-1", body, assign=Assigned())  # a retry moves nothing
    assert overview.overview(p).manual_queue == 1 == len(manual.manual_queue(p).items)


# ---------------------------------------------------------------- reading


def test_concurrent_changes_are_all_counted(p):
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def issue(i: int) -> None:
        barrier.wait()
        try:
            pet_policy(p, f"c-{i}", pet=f"pet-{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert today(p)["policies_issued"] == 16
    shards = p.store.query(repo.month_pk("2026-11"), sk_prefix="D#2026-11-22#").items  # type: ignore[attr-defined]
    assert 1 < len(shards) <= repo.SHARDS


def test_the_series_has_30_days_across_a_month_boundary_and_the_month_sums_its_days(p):
    store = p.store
    store.transact([repo.day_add(datetime(2026, 10, 25).date(), {"bookings": 3}, shard=1)])
    store.transact([repo.day_add(datetime(2026, 11, 1).date(), {"bookings": 2}, shard=2)])
    store.transact([repo.day_add(datetime(2026, 11, 22).date(), {"bookings": 1}, shard=3)])
    store.transact([repo.day_add(datetime(2026, 11, 22).date(), {"bookings": 4}, shard=5)])
    o = overview.overview(p, dead_letters=lambda: [DeadLetterDepth(queue="QuotaDLQ", depth=2)])
    assert len(o.series) == 30 and o.series[0].day.isoformat() == "2026-10-24" and o.series[-1].day == o.business_day
    assert {d.day.isoformat(): d.bookings for d in o.series if d.bookings} == {
        "2026-10-25": 3,
        "2026-11-01": 2,
        "2026-11-22": 5,
    }
    assert o.today.bookings == 5 and o.this_month.bookings == 7
    assert o.dead_letters == [DeadLetterDepth(queue="QuotaDLQ", depth=2)]


def test_an_unknown_counter_is_refused():
    with pytest.raises(ValueError):
        repo.day_add(datetime(2026, 11, 22).date(), {"bookingz": 1})


def test_a_dead_letter_queue_that_cannot_be_read_shows_no_depth():
    class Sqs:
        def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
            if "quota" in QueueUrl:
                raise RuntimeError("access denied")
            return {"Attributes": {"ApproximateNumberOfMessages": "3"}}

    depths = (
        overview._depth(Sqs(), "QuotaDLQ", "https://sqs/quota-dlq"),
        overview._depth(Sqs(), "BulkDLQ", "https://sqs/b"),
    )
    assert [d.depth for d in depths] == [None, 3]
    assert overview._depth(Sqs(), "BulkDLQ", "").depth is None


def test_every_counter_is_a_number_attribute_of_the_table_record():
    from petcover.storage.dynamo import NUMERIC

    assert repo.DAY_COUNTERS | repo.GAUGES <= NUMERIC
