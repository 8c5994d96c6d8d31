"""Work orders for the console: the filtered list through an index, and one order's page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from petcover.domain import sla
from petcover.errors import InvalidInput, NotFound
from petcover.identity import Principal
from petcover.models.sla import ExceptionRaise
from petcover.models.work_orders import WorkOrderQuery
from petcover.ports import Ports
from petcover.services import timeline
from petcover.services.sla import exceptions, listing, work_order_page
from tests.support.bookings import online, setup_world, to_booked
from tests.support.clock import Clock

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def p(fake_ports: Ports) -> Ports:
    fake_ports.clock = Clock(T0)
    return fake_ports


def record(p: Ports, order: str, node: str, at: datetime, provider: str = "prov-a", **kw: Any) -> None:
    args: dict[str, Any] = {"service_type": "vaccination", "region": "310115", "online": False}
    args.update(kw)
    timeline.record(p, order_id=order, provider_id=provider, node=node, at=at, **args)


def ids(p: Ports, **q: Any) -> list[str]:
    return sorted(s.order_id for s in listing.list_work_orders(p, WorkOrderQuery(**q)).items)


def world(p: Ports) -> None:
    record(p, "WO-1", sla.ASSIGNED, T0)
    record(p, "WO-2", sla.ASSIGNED, T0, provider="prov-b", region="110105")
    record(p, "WO-3", sla.ASSIGNED, T0 - timedelta(hours=2), service_type="checkup")
    record(p, "WO-3", sla.ACCEPTED, T0 - timedelta(minutes=90), service_type="checkup")
    record(p, "WO-4", sla.ASSIGNED, T0 - timedelta(hours=3))
    record(p, "WO-4", "cancelled", T0 - timedelta(minutes=5))


def test_filters_by_provider_region_service_type_and_node(p):
    world(p)
    assert ids(p) == ["WO-1", "WO-2", "WO-3"]
    assert ids(p, provider_id="prov-a") == ["WO-1", "WO-3"]
    assert ids(p, region="110000") == ["WO-2"] and ids(p, region="3101") == ["WO-1", "WO-3"]
    assert ids(p, service_type="checkup") == ["WO-3"]
    assert ids(p, status="accepted") == ["WO-3"] and ids(p, status="assigned", provider_id="prov-b") == ["WO-2"]


def test_overdue_reads_the_due_index_up_to_now(p):
    world(p)
    page = listing.list_work_orders(p, WorkOrderQuery(overdue=True))
    assert page.index == "due" and [s.order_id for s in page.items] == ["WO-3"]  # no visit set within 60 min
    (late,) = page.items
    assert late.overdue and late.due_at is not None and late.due_at < T0
    assert late.console_path == "/console/work-orders/WO-3"
    p.clock.set(T0 + timedelta(minutes=31))  # type: ignore[attr-defined]
    assert ids(p, overdue=True) == ["WO-1", "WO-2", "WO-3"]
    assert ids(p, overdue=True, provider_id="prov-b") == ["WO-2"]


def test_closed_orders_of_a_day(p):
    world(p)
    page = listing.list_work_orders(p, WorkOrderQuery(status="closed"))
    assert page.index == "closed_day" and [(s.order_id, s.node, s.open) for s in page.items] == [
        ("WO-4", "cancelled", False)
    ]
    assert ids(p, status="closed", closed_on=date(2026, 11, 21)) == []
    with pytest.raises(InvalidInput):
        listing.list_work_orders(p, WorkOrderQuery(status="closed", overdue=True))
    with pytest.raises(InvalidInput):
        listing.list_work_orders(p, WorkOrderQuery(closed_on=date(2026, 11, 22)))


def test_pages_follow_the_cursor_without_repeats_or_gaps(p):
    for i in range(7):
        record(p, f"WO-{i:02d}", sla.ASSIGNED, T0, provider=f"prov-{i % 2}")
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = listing.list_work_orders(p, WorkOrderQuery(limit=3, cursor=cursor))
        assert len(page.items) <= 3
        seen += [s.order_id for s in page.items]
        cursor = page.cursor
        if not cursor:
            break
    assert sorted(seen) == [f"WO-{i:02d}" for i in range(7)] and len(seen) == 7
    # a filter that drops most of each page still walks the whole index
    seen = []
    cursor = None
    for _ in range(10):
        page = listing.list_work_orders(p, WorkOrderQuery(limit=2, cursor=cursor, provider_id="prov-1"))
        seen += [s.order_id for s in page.items]
        cursor = page.cursor
        if not cursor:
            break
    assert sorted(seen) == ["WO-01", "WO-03", "WO-05"]


def test_the_page_shows_each_node_against_its_sla_and_the_actions(p):
    record(p, "WO-9", sla.ASSIGNED, T0 - timedelta(hours=2))
    record(p, "WO-9", sla.ACCEPTED, T0 - timedelta(hours=1))  # 60 minutes for a 30-minute limit
    d = work_order_page.work_order_detail(p, "WO-9")
    assert d.console_path == "/console/work-orders/WO-9" and d.appointment is None
    first, second = d.steps
    assert (first.node, first.next_node, first.late, first.late_seconds) == ("assigned", "accepted", True, 1800)
    assert first.done_at == T0 - timedelta(hours=1)
    assert second.node == "accepted" and second.done_at is None
    assert d.actions == []  # no exception, no appointment to reassign
    exceptions.raise_exception(p, Principal("provider", "prov-a"), "WO-9", ExceptionRaise(reason="owner unreachable"))
    d = work_order_page.work_order_detail(p, "WO-9")
    assert [a.action for a in d.actions] == ["handle_exception"]
    assert d.actions[0].path == "/ops/work-orders/WO-9/exception/handled"
    with pytest.raises(NotFound):
        work_order_page.work_order_detail(p, "WO-none")


def test_an_appointment_that_is_not_accepted_yet_may_be_assigned_by_hand(fake_ports):
    p = fake_ports
    _, number = setup_world(p)
    aid = to_booked(p, online(), number)  # accepted: too late to hand it elsewhere
    d = work_order_page.work_order_detail(p, aid)
    assert d.appointment is not None and d.appointment.appointment_id == aid
    assert [a.action for a in d.actions] == ["explain_dispatch"]
    assert [s.node for s in d.steps] == ["assigned", "accepted"] and d.steps[0].late is False
