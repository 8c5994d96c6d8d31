"""Provider fee schedules (versioned, effective dates) and the fee each fulfilled work order earns once."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from petcover.domain import calendar, journal
from petcover.domain.fees import FeeRate
from petcover.errors import Conflict, InvalidInput
from petcover.identity import Principal
from petcover.models.fulfilment import ShipRequest
from petcover.models.money import FeeSchedulePublish
from petcover.repositories import fees as fees_repo
from petcover.repositories import ledger as ledger_repo
from petcover.services.fulfilment import closing, work_orders
from petcover.services.money import fees
from tests.support.bookings import CLINIC, SHOP, online, setup_world, to_booked

FINANCE = Principal("ops", "fin-1", ("finance",))


def _rates(**by_region: str) -> list[FeeRate]:
    return [FeeRate(region=r.replace("any", "*"), fee=Decimal(v)) for r, v in by_region.items()]


def _publish(p, start: date, **by_region: str):
    req = FeeSchedulePublish(effective_from=start, rates=_rates(**by_region), reason="2027 price list")
    return fees.publish(p, FINANCE, "medicine_delivery", req)


def _fulfil_online(p, clock, number: str) -> str:
    aid = to_booked(p, online(), number)
    work_orders.ship(p, CLINIC, aid, ShipRequest(carrier="SF", tracking_number="SF12345"))
    clock.advance(hours=1)
    closing.confirm_receipt(p, SHOP, aid)
    return aid


def _fees(p, month: str):
    return [e for e in ledger_repo.month_entries(p.store, "provider:clinic-a", month) if e.event == "provider_fee"]


def test_a_fulfilled_order_posts_the_fee_of_the_most_specific_region_once(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    today = calendar.today(clock.now)
    _publish(p, today, any="30.00", **{"310000": "40.00", "310115": "55.50"})
    aid = _fulfil_online(p, clock, number)
    [fee] = _fees(p, calendar.month_of(clock.now))
    assert (fee.amount, fee.ref, fee.provider_id, fee.time_basis) == (
        Decimal("55.50"),
        aid,
        "clinic-a",
        "fulfilment_time",
    )
    assert journal.balances(fee.lines) == {
        "service_fee_expense": Decimal("55.50"),
        "provider_payable:clinic-a": Decimal("-55.50"),
    }
    # the once-only marker refuses a second fee for the same order
    again = fees.fee_ops(p, closing.views.get_for_staff(p, aid).appointment, clock.now)
    with pytest.raises(Conflict):
        p.store.transact(again)
    assert len(_fees(p, calendar.month_of(clock.now))) == 1


def test_versions_take_effect_on_their_day_and_earlier_orders_keep_their_fee(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    today = calendar.today(clock.now)
    v1 = _publish(p, today, any="30.00")
    v2 = _publish(p, today + timedelta(days=2), any="35.00")
    assert (v1.version, v2.version) == (1, 2)
    first = _fulfil_online(p, clock, number)
    clock.advance(days=3)
    second = _fulfil_online(p, clock, number)
    got = {e.ref: e.amount for e in _fees(p, calendar.month_of(clock.now))}
    assert got == {first: Decimal("30.00"), second: Decimal("35.00")}
    assert [v.version for v in fees.get_schedule(p, "medicine_delivery").versions] == [1, 2]


def test_no_schedule_means_no_fee_and_the_order_is_still_fulfilled(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    aid = _fulfil_online(p, clock, number)
    assert closing.views.get_for_staff(p, aid).appointment.status == "fulfilled"
    assert _fees(p, calendar.month_of(clock.now)) == []


def test_a_schedule_cannot_start_in_the_past_and_a_lost_race_is_a_conflict(fake_ports):
    p = fake_ports
    clock, _ = setup_world(p)
    today = calendar.today(clock.now)
    with pytest.raises(InvalidInput) as err:
        _publish(p, today - timedelta(days=1), any="1.00")
    assert err.value.code == "EFFECTIVE_FROM_IN_PAST"
    _publish(p, today, any="1.00")
    stale = fees_repo.get_schedule(p.store, "medicine_delivery")
    _publish(p, today, any="2.00")
    # a writer that read version 1 cannot publish version 2 over the one just published
    from petcover.domain.fees import FeeVersion

    late = FeeVersion(
        version=2,
        service_type="medicine_delivery",
        effective_from=today,
        rates=_rates(any="9.00"),
        created_by="x",
        created_at=clock.now,
        reason="late",
    )
    with pytest.raises(Conflict):
        p.store.transact(fees_repo.publish_ops(stale, late))
