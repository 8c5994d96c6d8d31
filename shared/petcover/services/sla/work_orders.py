"""One work order as ops sees it: its nodes, what it waits for and when that is due, breaches, exceptions."""

from __future__ import annotations

from petcover.domain import sla
from petcover.errors import IllegalTransition, NotFound
from petcover.models.sla import CurrentNode, WorkOrderTimeline
from petcover.ports import Item, Ports
from petcover.repositories import sla as keys
from petcover.repositories import timeline as timeline_keys
from petcover.services import timeline


def _current_node(p: Ports, open_item: Item) -> CurrentNode:
    wo = timeline_keys.load_open(open_item)
    due = timeline_keys.due_time(open_item)
    now = p.now()
    return CurrentNode(
        node=wo.node,
        entered_at=wo.entered_at,
        next_node=timeline_keys.next_node(open_item) or sla.next_node(wo.node, online=wo.online),
        due_at=due,
        overdue=sla.is_breached(due, now) if due else False,
        remaining_seconds=int((due - now).total_seconds()) if due else None,
    )


def work_order_timeline(p: Ports, order_id: str) -> WorkOrderTimeline:
    record = keys.work_order_record(p.store, order_id)
    if not record.nodes and record.open is None:
        raise NotFound(f"There is no work order {order_id}.", code="WORK_ORDER_NOT_FOUND")
    current = None
    if record.open is not None:
        wo = timeline_keys.load_open(record.open)
        provider_id, service_type, region = wo.provider_id, wo.service_type, wo.region
        current = _current_node(p, record.open)
    else:
        last = record.nodes[-1]
        provider_id, service_type, region = last.provider_id, last.service_type, last.region
    return WorkOrderTimeline(
        order_id=order_id,
        provider_id=provider_id,
        service_type=service_type,
        region=region,
        open=record.open is not None,
        current=current,
        nodes=record.nodes,
        breaches=record.breaches,
        exceptions=record.exceptions,
    )


def open_order(p: Ports, order_id: str) -> sla.OpenWorkOrder:
    """The open work order, or why there is none: closed (it has nodes) or unknown."""
    item = p.store.get(*timeline_keys.open_key(order_id))
    if item is not None:
        return timeline_keys.load_open(item)
    if timeline.first_node(p, order_id) is not None:
        raise IllegalTransition(
            f"Work order {order_id} is already closed; exceptions can no longer be raised or handled.",
            code="WORK_ORDER_CLOSED",
        )
    raise NotFound(f"There is no work order {order_id}.", code="WORK_ORDER_NOT_FOUND")
