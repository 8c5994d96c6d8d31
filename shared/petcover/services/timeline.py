"""Work-order timeline: every node with its time, provider, region and service type.

Fulfilment writes ``node_ops`` in the transaction of each change; SLA monitoring
(``services.sla``) reads what they maintain: the nodes, and the open work order with the time
its next node is due (keys and items: ``repositories.timeline``). Completing, cancelling or
declining an order deletes the open work order, so neither the open-orders nor the due-time
index keeps closed orders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from petcover.domain import sla
from petcover.ports import Delete, Ports, Put, WriteOp
from petcover.repositories import sla as sla_keys
from petcover.repositories import timeline as keys
from petcover.repositories.base import paginate

CLOSING_NODES = {sla.COMPLETED, "cancelled", "declined"}  # declined: the provider handed the order back
OPEN_ORDERS_PAGE = 500
DAY_EVENTS_PAGE = 1000
ORDER_NODES_LIMIT = 200


def current_config(p: Ports) -> sla.SlaConfig:
    item = p.store.get(*sla_keys.config_key(), consistent=False)
    if item is None:
        return sla.DEFAULT_SLA
    return sla_keys.load_config(item)


def node_ops(
    p: Ports,
    *,
    order_id: str,
    provider_id: str,
    node: str,
    service_type: str,
    region: str,
    online: bool,
    core_provider: bool = False,
    owner: str = "",
    at: datetime | None = None,
) -> tuple[list[WriteOp], sla.OpenWorkOrder | None]:
    """The writes that append the node and move the open work order (and its due time) forward.

    They go into the transaction of the change the node records, so the SLA check never sees a
    change without its node (or a node without its change). The caller holds the order's lock.
    """
    at = at or p.now()
    event = sla.NodeEvent(
        order_id=order_id, provider_id=provider_id, region=region, service_type=service_type, node=node, at=at
    )
    ops: list[WriteOp] = [Put(keys.node_item(event))]
    if node in CLOSING_NODES:
        return [*ops, Delete(*keys.open_key(order_id))], None
    existing = p.store.get(*keys.open_key(order_id))
    wo = sla.OpenWorkOrder(
        order_id=order_id,
        provider_id=provider_id,
        service_type=service_type,
        node=node,
        entered_at=at,
        created_at=keys.created_at(existing) if existing else at.isoformat(),
        owner=owner,
        region=region,
        core_provider=core_provider,
        online=online,
    )
    due = sla.due_at(
        current_config(p), node, service_type, at, region=region, core_provider=core_provider, online=online
    )
    return [*ops, Put(keys.open_item(wo, due))], wo


def record(
    p: Ports,
    *,
    order_id: str,
    provider_id: str,
    node: str,
    service_type: str,
    region: str,
    online: bool,
    core_provider: bool = False,
    owner: str = "",
    at: datetime | None = None,
) -> sla.OpenWorkOrder | None:
    """Append the node and move the open work order forward, on their own (one transaction)."""
    ops, wo = node_ops(
        p,
        order_id=order_id,
        provider_id=provider_id,
        node=node,
        service_type=service_type,
        region=region,
        online=online,
        core_provider=core_provider,
        owner=owner,
        at=at,
    )
    p.store.transact(ops)
    return wo


def open_orders(p: Ports, provider_id: str | None = None) -> list[sla.OpenWorkOrder]:
    items = paginate(
        p.store,
        keys.OPEN_ORDERS_PK,
        index="gsi1",
        sk_prefix=keys.open_orders_prefix(provider_id),
        limit=OPEN_ORDERS_PAGE,
    )
    return [keys.load_open(i) for i in items]


def overdue(p: Ports, now: datetime, limit: int = 500) -> list[tuple[sla.OpenWorkOrder, str, datetime]]:
    """Open orders whose next node was due before ``now`` (the index query, no scan; one page)."""
    page = p.store.query(keys.DUE_PK, index="gsi3", sk_lte=now.isoformat(), limit=limit)
    out: list[tuple[sla.OpenWorkOrder, str, datetime]] = []
    for i in page.items:
        due = keys.due_time(i)
        if due is not None:  # always: the index holds only items with a due time
            out.append((keys.load_open(i), keys.next_node(i), due))
    return out


def nodes(p: Ports, order_id: str) -> list[sla.NodeEvent]:
    """The order's nodes in time order (its first ORDER_NODES_LIMIT)."""
    page = p.store.query(keys.work_order_pk(order_id), sk_prefix=keys.NODE_PREFIX, limit=ORDER_NODES_LIMIT)
    return [keys.load_node(i) for i in page.items]


def first_node(p: Ports, order_id: str) -> sla.NodeEvent | None:
    """The order's first node; None when it never had one (no such work order)."""
    page = p.store.query(keys.work_order_pk(order_id), sk_prefix=keys.NODE_PREFIX, limit=1)
    return keys.load_node(page.items[0]) if page.items else None


def day_events(p: Ports, day: str) -> list[sla.NodeEvent]:
    return [keys.load_node(i) for i in paginate(p.store, keys.nodes_day_pk(day), index="gsi2", limit=DAY_EVENTS_PAGE)]


def as_dict(wo: sla.OpenWorkOrder) -> dict[str, Any]:
    return wo.model_dump(mode="json")
