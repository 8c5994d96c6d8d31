"""Work-order timeline: every node with its time, provider, region and service type.

Fulfilment writes ``node_ops`` in the transaction of each change; SLA monitoring
(``services.sla``) reads what they maintain: the nodes, and the open work order with the time
its next node is due (keys and items: ``repositories.timeline``). Completing, cancelling or
declining an order deletes the open work order, so neither the open-orders nor the due-time
index keeps closed orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from petcover.domain import calendar, sla
from petcover.ports import Cond, Delete, Item, Ports, Put, WriteOp
from petcover.recent import Recent
from petcover.repositories import overview
from petcover.repositories import quality as quality_keys
from petcover.repositories import sla as sla_keys
from petcover.repositories import timeline as keys
from petcover.repositories.base import paginate

CLOSING_NODES = {sla.COMPLETED, "cancelled", "declined"}  # declined: the provider handed the order back
OPEN_ORDERS_PAGE = 500
DAY_EVENTS_PAGE = 1000
ORDER_NODES_LIMIT = 200


# Read by every node a change writes; they change rarely (``petcover.recent``: a few seconds' staleness).
_sla_config: Recent[sla.SlaConfig] = Recent()
_tiers: Recent[bool] = Recent()


def current_config(p: Ports) -> sla.SlaConfig:
    def load() -> sla.SlaConfig:
        item = p.store.get(*sla_keys.config_key(), consistent=False)
        return sla.DEFAULT_SLA if item is None else sla_keys.load_config(item)

    return _sla_config.get(p.store, "current", load)


def forget_configuration() -> None:
    """After this container changed the SLA configuration or providers' tiers: read them again."""
    _sla_config.forget()
    _tiers.forget()


def node_ops(
    p: Ports,
    *,
    order_id: str,
    provider_id: str,
    node: str,
    service_type: str,
    region: str,
    online: bool,
    core_provider: bool | None = None,
    owner: str = "",
    at: datetime | None = None,
    known: Mapping[tuple[str, str], Item] | None = None,
) -> tuple[list[WriteOp], sla.OpenWorkOrder | None]:
    """The writes that append the node and move the open work order (and its due time) forward.

    They go into the transaction of the change the node records, so the SLA check never sees a
    change without its node (or a node without its change), and neither do the provider's
    monthly quality counters (``quality_ops``). The caller holds the order's lock.
    ``core_provider`` None: the provider's tier as the quality assessment last set it.
    ``known``: items the caller already read consistently under the lock (``reads``), so the open
    work order is not read again.
    """
    at = at or p.now()
    event = sla.NodeEvent(
        order_id=order_id, provider_id=provider_id, region=region, service_type=service_type, node=node, at=at
    )
    key = keys.open_key(order_id)
    existing = known.get(key) if known is not None else p.store.get(*key)
    ops: list[WriteOp] = [Put(keys.node_item(event)), *quality_ops(existing, provider_id, node, at)]
    # The open item leaves its node: a breach marked there closes (the overview's gauge), and
    # the write holds only if no breach was marked since the read.
    was_breached = keys.breached(existing)
    guard: list[Cond] = [("breached", "exists" if was_breached else "not_exists", None)]
    if was_breached:
        ops.append(overview.gauge_add({"open_breaches": -1}))
    if node in CLOSING_NODES:
        return [*ops, Delete(*keys.open_key(order_id), expect=guard)], None
    if core_provider is None:
        core_provider = _core(p, existing, provider_id)
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
    return [*ops, Put(keys.open_item(wo, due), expect=guard)], wo


def reads(order_id: str) -> list[tuple[str, str]]:
    """What ``node_ops`` reads of an order, for a caller that batches it with its own reads."""
    return [keys.open_key(order_id)]


def _core(p: Ports, existing: Item | None, provider_id: str) -> bool:
    """The order keeps the tier it was assigned under; a new assignment reads the provider's tier."""
    if existing is not None and existing.get("owner") == provider_id:
        return keys.load_open(existing).core_provider
    return _tiers.get(
        p.store,
        provider_id,
        lambda: quality_keys.is_core(p.store.get(*quality_keys.tier_key(provider_id), consistent=False)),
    )


def quality_ops(existing: Item | None, provider_id: str, node: str, at: datetime) -> list[WriteOp]:
    """The provider's monthly counters this node moves: a new assignment counts an order, a node
    that was due counts as reached (and on time when by its due time), a raised exception counts."""
    month = calendar.month_of(at)
    if node == sla.ASSIGNED:
        if existing is None or existing.get("owner") != provider_id:
            return [quality_keys.counter_op(provider_id, month, "orders")]
        return []
    if node == sla.EXCEPTION_RAISED:
        return [quality_keys.counter_op(provider_id, month, "exceptions")]
    if existing is None or existing.get("owner") != provider_id or keys.next_node(existing) != node:
        return []
    due = keys.due_time(existing)
    if due is None or node == sla.EXCEPTION_HANDLED:  # ops handle exceptions: not the provider's time
        return []
    ops: list[WriteOp] = [quality_keys.counter_op(provider_id, month, quality_keys.done_metric(node))]
    if not sla.is_breached(due, at):
        ops.append(quality_keys.counter_op(provider_id, month, quality_keys.on_time_metric(node)))
    return ops


def record(
    p: Ports,
    *,
    order_id: str,
    provider_id: str,
    node: str,
    service_type: str,
    region: str,
    online: bool,
    core_provider: bool | None = None,
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
