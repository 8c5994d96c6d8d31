"""The commodity domain on the in-memory store: catalogue versions, item checks at booking, stock-aware
dispatch with reservations, partial shipment, cancellation and decline releases, low-stock alerts."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from petcover.domain.commodities import CommoditySpec, ShippedItem
from petcover.errors import BusinessRuleViolation, DomainError, InvalidInput
from petcover.identity import Principal
from petcover.models.commodities import CommodityStatusRequest, StockPublish
from petcover.models.fulfilment import DeclineRequest, ShipRequest
from petcover.repositories import commodities as goods_records
from petcover.services.commodities import catalog as commodity_catalog
from petcover.services.commodities import stock
from petcover.services.dispatch import coverage
from petcover.services.fulfilment import closing, declines, views, work_orders
from tests.support.bookings import SHOP
from tests.support.goods import (
    OPS,
    add_commodity,
    book_and_dispatch,
    meds_policy,
    meds_world,
    order,
    put_stock,
    stock_of,
)


@pytest.fixture
def world(fake_ports):
    return meds_world(fake_ports)


def test_a_price_change_is_a_new_version_and_an_order_keeps_the_price_it_was_booked_at(fake_ports, world):
    p = fake_ports
    add_commodity(p, "AMOX-250", price="30.00")
    later = CommoditySpec.model_validate(
        {
            "sku": "AMOX-250",
            "name": "Amoxicillin 250",
            "category": "medicine",
            "specification": "250 mg x 20",
            "unit": "box",
            "list_price": "36.00",
            "effective_at": (world.clock.now + timedelta(days=1)).isoformat(),
        }
    )
    out = commodity_catalog.save_version(p, OPS, later)
    assert out.head.latest_version == 2 and out.current is not None and out.current.version == 1
    number, pet = meds_policy(p, world.clock)
    put_stock(p, world.pharmacies[0], "AMOX-250", 5)
    aid, _ = book_and_dispatch(p, number, order(pet, ("AMOX-250", 2)))
    (item,) = views.get_for_staff(p, aid).appointment.items
    assert (item.version, item.unit_price) == (1, Decimal("30.00"))
    world.clock.advance(days=2)
    assert commodity_catalog.get_commodity(p, "AMOX-250").current.list_price == Decimal("36.00")  # type: ignore[union-attr]
    assert views.get_for_staff(p, aid).appointment.items[0].unit_price == Decimal("30.00")


@pytest.mark.parametrize(
    ("setup", "items", "code"),
    [
        ("draft", [("DRAFT-1", 1)], "COMMODITY_NOT_PUBLISHED"),
        ("withdrawn", [("GONE-1", 1)], "COMMODITY_WITHDRAWN"),
        ("supply", [("LEASH-1", 1)], "ITEM_NOT_COVERED"),
        ("plain", [("VITA-1", 11)], "ALLOWANCE_EXCEEDED"),
        ("plain", [("NOPE-1", 1)], "COMMODITY_NOT_FOUND"),
        ("rx", [("RX-1", 1)], "PRESCRIPTION_REQUIRED"),
        ("plain", [], "ITEMS_REQUIRED"),
        ("plain", [("VITA-1", 1), ("VITA-1", 2)], "DUPLICATE_ITEM"),
    ],
)
def test_a_booking_is_refused_with_a_clear_error(fake_ports, world, setup, items, code):
    p = fake_ports
    add_commodity(p, "VITA-1", category="supplement")
    if setup == "draft":
        add_commodity(p, "DRAFT-1", publish_it=False)
    if setup == "withdrawn":
        add_commodity(p, "GONE-1")
        commodity_catalog.set_status(p, OPS, "GONE-1", CommodityStatusRequest(status="withdrawn", reason="recalled"))
    if setup == "supply":
        add_commodity(p, "LEASH-1", category="supply")
    if setup == "rx":
        add_commodity(p, "RX-1", prescription=True)
    number, pet = meds_policy(p, world.clock)
    with pytest.raises((BusinessRuleViolation, InvalidInput)) as err:
        from petcover.services.fulfilment import booking

        booking.book_appointment(p, SHOP, number, order(pet, *items))
    assert err.value.code == code
    assert "quota" not in str(err.value.message).lower() or code == "ALLOWANCE_EXCEEDED"


def test_the_allowance_counts_across_bookings_and_follows_what_was_shipped(fake_ports, world):
    p = fake_ports
    add_commodity(p, "VITA-1", category="supplement", price="10.00")
    put_stock(p, world.pharmacies[0], "VITA-1", 50)
    put_stock(p, world.pharmacies[1], "VITA-1", 50)
    number, pet = meds_policy(p, world.clock)
    aid, rec = book_and_dispatch(p, number, order(pet, ("VITA-1", 8)))
    provider = Principal("provider", rec.decision.provider_id)
    work_orders.accept(p, provider, aid)
    with pytest.raises(InvalidInput) as err:
        work_orders.ship(
            p,
            provider,
            aid,
            ShipRequest(carrier="SF", tracking_number="SF0001", items=[ShippedItem(sku="VITA-1", quantity=5)]),
        )
    assert err.value.code == "PARTIAL_REASON_REQUIRED"
    shipped = work_orders.ship(
        p,
        provider,
        aid,
        ShipRequest(
            carrier="SF",
            tracking_number="SF0001",
            items=[ShippedItem(sku="VITA-1", quantity=5)],
            partial_reason="only 5 boxes left in the shop",
        ),
    )
    assert shipped.shipment.items == {"VITA-1": 5} and shipped.shipment.fee == "50.00"  # type: ignore[union-attr]
    assert shipped.shipment.partial_reason == "only 5 boxes left in the shop"  # type: ignore[union-attr]
    assert stock_of(p, provider.id, "VITA-1") == {"on_hand": 45, "reserved": 0, "available": 45}
    moves = goods_records.moves_of(p.store, provider.id, "310000", "VITA-1")
    assert sorted(m["kind"] for m in moves) == ["publish", "reserve", "ship"]
    (ship_move,) = [m for m in moves if m["kind"] == "ship"]
    assert "only 5 boxes left" in ship_move["reason"] and ship_move["ref"] == aid
    assert (ship_move["on_hand"], ship_move["reserved"]) == (-5, -8)
    closing.confirm_receipt(p, SHOP, aid)
    # 5 of 10 taken: 5 more fit, 6 do not
    with pytest.raises(BusinessRuleViolation) as err2:
        book_and_dispatch(p, number, order(pet, ("VITA-1", 6)))
    assert err2.value.code == "ALLOWANCE_EXCEEDED" and err2.value.details["taken"] == 5
    book_and_dispatch(p, number, order(pet, ("VITA-1", 5)))


def test_dispatch_chooses_only_a_provider_stocking_every_item_and_reserves_it(fake_ports, world):
    p = fake_ports
    a, b = world.pharmacies
    add_commodity(p, "AMOX-250")
    add_commodity(p, "VITA-1", category="supplement")
    put_stock(p, a, "AMOX-250", 10)  # a has no VITA-1
    put_stock(p, b, "AMOX-250", 10)
    put_stock(p, b, "VITA-1", 10)
    number, pet = meds_policy(p, world.clock)
    aid, rec = book_and_dispatch(p, number, order(pet, ("AMOX-250", 2), ("VITA-1", 1)))
    assert rec.state == "assigned" and rec.decision.provider_id == b
    assert "VITA-1" in rec.decision.excluded[a]
    assert stock_of(p, b, "AMOX-250") == {"on_hand": 10, "reserved": 2, "available": 8}
    assert stock_of(p, b, "VITA-1") == {"on_hand": 10, "reserved": 1, "available": 9}
    assert stock_of(p, a, "AMOX-250")["reserved"] == 0
    assert views.get_for_staff(p, aid).appointment.provider_id == b


def test_nobody_stocks_it_so_the_coverage_gap_names_the_missing_sku(fake_ports, world):
    p = fake_ports
    add_commodity(p, "AMOX-250")
    add_commodity(p, "RARE-9")
    for pid in world.pharmacies:
        put_stock(p, pid, "AMOX-250", 10)
    number, pet = meds_policy(p, world.clock)
    aid, rec = book_and_dispatch(p, number, order(pet, ("AMOX-250", 1), ("RARE-9", 1)))
    assert rec.state == "manual" and "RARE-9" in rec.decision.reason
    (gap,) = coverage.coverage_gaps(p).items
    assert gap.last_kind == "no_stock" and gap.last_missing_skus == ["RARE-9"] and gap.last_appointment_id == aid
    assert all(stock_of(p, pid, "AMOX-250")["reserved"] == 0 for pid in world.pharmacies)


def test_a_cancelled_orders_reservation_returns_once(fake_ports, world):
    p = fake_ports
    add_commodity(p, "AMOX-250")
    put_stock(p, world.pharmacies[0], "AMOX-250", 3)
    put_stock(p, world.pharmacies[1], "AMOX-250", 3)
    number, pet = meds_policy(p, world.clock)
    aid, rec = book_and_dispatch(p, number, order(pet, ("AMOX-250", 3)))
    pid = rec.decision.provider_id
    assert stock_of(p, pid, "AMOX-250") == {"on_hand": 3, "reserved": 3, "available": 0}
    errors: list[Exception] = []

    def cancel() -> None:
        try:
            closing.cancel(p, SHOP, aid, "owner changed their mind")
        except DomainError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=cancel) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 3  # one cancellation wins; the others are refused (already cancelled or locked)
    assert stock.release(p, aid, "a late repeat", "system:test") == 0
    assert stock_of(p, pid, "AMOX-250") == {"on_hand": 3, "reserved": 0, "available": 3}
    releases = [m for m in goods_records.moves_of(p.store, pid, "310000", "AMOX-250") if m["kind"] == "release"]
    assert len(releases) == 1 and "owner changed their mind" in releases[0]["reason"]
    # and the allowance came back: 10 units fit again
    book_and_dispatch(p, number, order(pet, ("AMOX-250", 3)))


def test_a_decline_releases_the_reservation_and_the_next_provider_reserves(fake_ports, world):
    p = fake_ports
    a, b = world.pharmacies
    add_commodity(p, "AMOX-250")
    put_stock(p, a, "AMOX-250", 4)
    put_stock(p, b, "AMOX-250", 4)
    number, pet = meds_policy(p, world.clock)
    aid, rec = book_and_dispatch(p, number, order(pet, ("AMOX-250", 2)))
    first = rec.decision.provider_id
    other = b if first == a else a
    p.publisher.drain("dispatch")  # type: ignore[attr-defined]
    declines.decline(p, Principal("provider", first), aid, DeclineRequest(reason="pharmacist away"))
    assert stock_of(p, first, "AMOX-250") == {"on_hand": 4, "reserved": 0, "available": 4}
    (msg,) = p.publisher.drain("dispatch")  # type: ignore[attr-defined]
    from petcover.services.dispatch import assignment

    again = assignment.dispatch_one(p, msg)
    assert again.decision.provider_id == other
    assert stock_of(p, other, "AMOX-250")["reserved"] == 2


def test_low_stock_alerts_the_providers_group_once_per_crossing(fake_ports, world):
    p = fake_ports
    pid = world.pharmacies[0]
    add_commodity(p, "AMOX-250")
    put_stock(p, pid, "AMOX-250", 4, threshold=3)
    p.publisher.drain("alert")  # type: ignore[attr-defined]
    who = Principal("provider", pid)
    for on_hand in (2, 1, 0):  # below the threshold three times in a row: one alert
        stock.publish_stock(
            p,
            who,
            StockPublish.model_validate({"items": [{"sku": "AMOX-250", "region": "310000", "on_hand": on_hand}]}),
        )
    alerts = p.publisher.drain("alert")  # type: ignore[attr-defined]
    assert len(alerts) == 1
    assert alerts[0]["target"]["url"] == "https://oapi.dingtalk.com/robot/x" and "AMOX-250" in alerts[0]["text"]
    assert "库存不足" in alerts[0]["text"]
    stock.publish_stock(
        p, who, StockPublish.model_validate({"items": [{"sku": "AMOX-250", "region": "310000", "on_hand": 9}]})
    )
    assert p.publisher.drain("alert") == []  # type: ignore[attr-defined]
    stock.publish_stock(
        p, who, StockPublish.model_validate({"items": [{"sku": "AMOX-250", "region": "310000", "on_hand": 1}]})
    )
    assert len(p.publisher.drain("alert")) == 1  # type: ignore[attr-defined]


def test_stock_never_goes_below_what_is_reserved_and_a_bad_row_does_not_block_the_others(fake_ports, world):
    p = fake_ports
    a = world.pharmacies[0]
    add_commodity(p, "AMOX-250")
    put_stock(p, a, "AMOX-250", 5)
    put_stock(p, world.pharmacies[1], "AMOX-250", 0)
    number, pet = meds_policy(p, world.clock)
    book_and_dispatch(p, number, order(pet, ("AMOX-250", 4)))
    add_commodity(p, "VITA-1", category="supplement")
    result = stock.publish_stock(
        p,
        Principal("provider", a),
        StockPublish.model_validate(
            {
                "items": [
                    {"sku": "AMOX-250", "region": "310000", "on_hand": 3},
                    {"sku": "VITA-1", "region": "310000", "on_hand": 7},
                    {"sku": "NOPE-1", "region": "310000", "on_hand": 7},
                ],
                "reason": "monthly count",
            }
        ),
    )
    assert [r.status for r in result.items] == ["rejected", "updated", "rejected"]
    assert result.items[0].error["code"] == "STOCK_BELOW_RESERVED"  # type: ignore[index]
    assert result.items[2].error["code"] == "COMMODITY_NOT_FOUND"  # type: ignore[index]
    assert stock_of(p, a, "AMOX-250") == {"on_hand": 5, "reserved": 4, "available": 1}


def test_fifty_racing_reservations_for_the_last_ten_units_take_exactly_ten(fake_ports, world):
    p = fake_ports
    pid = world.pharmacies[0]
    add_commodity(p, "AMOX-250")
    put_stock(p, pid, "AMOX-250", 10)
    barrier = threading.Barrier(50)
    results: list[str | None] = [None] * 50

    def one(i: int) -> None:
        barrier.wait()
        results[i] = stock.reserve(p, f"ap-{i}", 1, pid, "310000", {"AMOX-250": 1})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(None) == 10 and results.count("AMOX-250") == 40
    assert stock_of(p, pid, "AMOX-250") == {"on_hand": 10, "reserved": 10, "available": 0}


def test_the_daily_report_lists_stock_and_the_days_consumption_per_region(fake_ports, world):
    from petcover.domain import calendar
    from petcover.services.commodities import report

    p = fake_ports
    a, b = world.pharmacies
    add_commodity(p, "AMOX-250")
    put_stock(p, a, "AMOX-250", 6, threshold=5)
    put_stock(p, b, "AMOX-250", 0, threshold=1)  # empty from the start: low, alerted once
    put_stock(p, a, "AMOX-250", 3, region="110000", threshold=1)
    number, pet = meds_policy(p, world.clock)
    aid, rec = book_and_dispatch(p, number, order(pet, ("AMOX-250", 2)))
    provider = Principal("provider", rec.decision.provider_id)
    work_orders.accept(p, provider, aid)
    work_orders.ship(
        p,
        provider,
        aid,
        ShipRequest(
            carrier="SF",
            tracking_number="SF0009",
            items=[ShippedItem(sku="AMOX-250", quantity=1)],
            partial_reason="one box was damaged",
        ),
    )
    day = calendar.day_of(world.clock.now)
    alerts_before = len(p.publisher.drain("alert"))  # type: ignore[attr-defined]
    assert alerts_before == 2  # b empty at publish; a's 6 -> 4 available crossed its threshold of 5 at dispatch
    world.clock.advance(days=1)
    out = report.daily_stock_report(p)
    # a's unshipped box went back: 5 available again, not low any more; b is still low
    assert out == {"day": day.isoformat(), "regions": 2, "rows": 3, "low": 1, "shipped": 1}
    csv_text = p.blobs.get_bytes(f"reports/stock/{day.isoformat()}.csv").decode()  # type: ignore[union-attr]
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("region,sku,name,provider_id,on_hand,reserved,available")
    row_a = next(line for line in lines if line.startswith(f"310000,AMOX-250,Item AMOX-250,{a},"))
    assert row_a.split(",")[4:] == ["5", "0", "5", "5", "false", "1", "2", "0"]
    assert any(line.startswith(f"110000,AMOX-250,Item AMOX-250,{a},3,0,3") for line in lines)
    assert p.blobs.get_bytes(f"reports/stock/{day.isoformat()}.png")[:8] == b"\x89PNG\r\n\x1a\n"  # type: ignore[index,union-attr]
    assert p.publisher.drain("alert") == []  # type: ignore[attr-defined]  # b's catch-up is the same crossing


def test_an_order_ops_assigned_by_hand_ships_from_what_is_available(fake_ports, world):
    from petcover.models.dispatch import ManualAssignRequest
    from petcover.services.dispatch import manual

    p = fake_ports
    a = world.pharmacies[0]
    add_commodity(p, "AMOX-250")
    number, pet = meds_policy(p, world.clock)
    aid, rec = book_and_dispatch(p, number, order(pet, ("AMOX-250", 2)))
    assert rec.state == "manual"  # nobody stocks it
    manual.manual_assign(p, OPS, aid, ManualAssignRequest(provider_id=a, reason="they will order it in"))
    who = Principal("provider", a)
    work_orders.accept(p, who, aid)
    with pytest.raises(BusinessRuleViolation) as err:
        work_orders.ship(p, who, aid, ShipRequest(carrier="SF", tracking_number="SF0042"))
    assert err.value.code == "OUT_OF_STOCK" and err.value.details["sku"] == "AMOX-250"
    put_stock(p, a, "AMOX-250", 5)
    work_orders.ship(p, who, aid, ShipRequest(carrier="SF", tracking_number="SF0042"))
    assert stock_of(p, a, "AMOX-250") == {"on_hand": 3, "reserved": 0, "available": 3}
