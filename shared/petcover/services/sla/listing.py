"""Work orders for the staff console: a filtered list, paged through an index (never a scan).

Which index a list reads follows from its filters: ``overdue`` reads the due-time index (open
orders by due time, up to now), ``status=closed`` the day's node index (the closing nodes of a
business day), anything else the open-orders index (by provider, so a provider filter is a key
condition). The other filters apply to each page read, as a DynamoDB filter expression would: a
page may hold fewer than ``limit`` orders and still have a cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from petcover.domain import calendar, sla
from petcover.errors import InvalidInput
from petcover.models.work_orders import WorkOrderPage, WorkOrderQuery, WorkOrderSummary
from petcover.ports import Item, Page, Ports
from petcover.repositories import timeline as keys
from petcover.services import timeline

MAX_READS = 5  # index pages read for one answer at most
CLOSED = "closed"


def console_path(order_id: str) -> str:
    """The work order's page in the console."""
    return f"/console/work-orders/{order_id}"


def _region_matches(region: str, wanted: str | None) -> bool:
    if not wanted:
        return True
    prefix = wanted
    while len(prefix) > 2 and prefix.endswith("00"):
        prefix = prefix[:-2]
    return region.startswith(prefix)


def _open_summary(item: Item, now: datetime) -> WorkOrderSummary:
    wo = keys.load_open(item)
    due = keys.due_time(item)
    return WorkOrderSummary(
        order_id=wo.order_id,
        provider_id=wo.provider_id,
        service_type=wo.service_type,
        region=wo.region,
        node=wo.node,
        entered_at=wo.entered_at,
        open=True,
        next_node=keys.next_node(item) or sla.next_node(wo.node, online=wo.online),
        due_at=due,
        overdue=sla.is_breached(due, now) if due else False,
        breached=keys.breached(item),
        console_path=console_path(wo.order_id),
    )


def _closed_summary(item: Item, now: datetime) -> WorkOrderSummary:
    e = keys.load_node(item)
    return WorkOrderSummary(
        order_id=e.order_id,
        provider_id=e.provider_id,
        service_type=e.service_type,
        region=e.region,
        node=e.node,
        entered_at=e.at,
        open=False,
        console_path=console_path(e.order_id),
    )


def _keep(q: WorkOrderQuery, s: WorkOrderSummary) -> bool:
    if q.provider_id and s.provider_id != q.provider_id:
        return False
    if q.service_type and s.service_type != q.service_type:
        return False
    if q.status and q.status != CLOSED and s.node != q.status:
        return False
    if q.status == CLOSED and s.node not in timeline.CLOSING_NODES:
        return False
    return _region_matches(s.region, q.region)


def _reader(p: Ports, q: WorkOrderQuery, now: datetime) -> tuple[str, Callable[[int, str | None], Page], bool]:
    """(index name, page reader, whether items are closing nodes) for the query's filters."""
    if q.status == CLOSED:
        if q.overdue:
            raise InvalidInput("A closed work order cannot be overdue.", code="WORK_ORDER_FILTER_INVALID")
        day: date = q.closed_on or calendar.today(now)
        pk, prefix = keys.nodes_day_pk(day.isoformat()), keys.day_node_prefix(q.provider_id)

        def closed_day(n: int, c: str | None) -> Page:
            return p.store.query(pk, index="gsi2", sk_prefix=prefix, limit=n, cursor=c)

        return "closed_day", closed_day, True
    if q.closed_on:
        raise InvalidInput("closed_on goes with status=closed.", code="WORK_ORDER_FILTER_INVALID")
    if q.overdue:

        def due(n: int, c: str | None) -> Page:
            return p.store.query(keys.DUE_PK, index="gsi3", sk_lte=now.isoformat(), limit=n, cursor=c)

        return "due", due, False
    by_provider = keys.open_orders_prefix(q.provider_id)

    def open_orders(n: int, c: str | None) -> Page:
        return p.store.query(keys.OPEN_ORDERS_PK, index="gsi1", sk_prefix=by_provider, limit=n, cursor=c)

    return "open", open_orders, False


def list_work_orders(p: Ports, q: WorkOrderQuery) -> WorkOrderPage:
    now = p.now()
    index, read, closed = _reader(p, q, now)
    summary = _closed_summary if closed else _open_summary
    items: list[WorkOrderSummary] = []
    cursor = q.cursor
    for _ in range(MAX_READS):
        page = read(q.limit - len(items), cursor)
        for item in page.items:
            s = summary(item, now)
            if _keep(q, s) and (not q.overdue or s.overdue):
                items.append(s)
        cursor = page.cursor
        if not cursor or len(items) >= q.limit:
            break
    return WorkOrderPage(items=items, cursor=cursor, index=index)  # type: ignore[arg-type]
