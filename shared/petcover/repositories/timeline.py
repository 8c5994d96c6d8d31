"""Keys and items of the work-order timeline: its nodes and the open work order.

  WO#{order} / NODE#{at}#{node}   one item per node (gsi2 NODESDAY#{business day} for daily reports)
  WO#{order} / OPEN               the open work order: current node (``breached`` once the SLA
                                  check found it late there), and while a limit applies,
                                  gsi3 DUE / {due_at}#{order}, the index the minute check queries
                                  (gsi1 OPENWO / {provider}#{order}: the nightly summary's list)

The SLA items of a work order (breaches, exceptions) share its partition: ``repositories.sla``.
"""

from __future__ import annotations

import json
from datetime import datetime

from petcover.domain import calendar
from petcover.domain.sla import NodeEvent, OpenWorkOrder
from petcover.ports import Item

NODE_PREFIX = "NODE#"
OPEN_SK = "OPEN"
OPEN_ORDERS_PK = "OPENWO"  # gsi1: every open work order, sorted by provider
DUE_PK = "DUE"  # gsi3: open work orders with a due time, sorted by it


def work_order_pk(order_id: str) -> str:
    return f"WO#{order_id}"


def open_key(order_id: str) -> tuple[str, str]:
    return work_order_pk(order_id), OPEN_SK


def node_key(order_id: str, at: datetime, node: str) -> tuple[str, str]:
    return work_order_pk(order_id), f"{NODE_PREFIX}{at.isoformat()}#{node}"


def nodes_day_pk(day: str) -> str:
    """The gsi2 partition of the nodes recorded on ``day`` (YYYY-MM-DD of the node's own time)."""
    return f"NODESDAY#{day}"


def open_orders_prefix(provider_id: str | None) -> str | None:
    """The gsi1 sort-key prefix of one provider's open orders; None: every provider's."""
    return f"{provider_id}#" if provider_id else None


def node_item(event: NodeEvent) -> Item:
    pk, sk = node_key(event.order_id, event.at, event.node)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "wo_node",
        "gsi2pk": nodes_day_pk(calendar.day_of(event.at).isoformat()),
        "gsi2sk": f"{event.provider_id}#{event.at.isoformat()}#{event.order_id}",
        "data": event.model_dump_json(),
    }


def open_item(wo: OpenWorkOrder, due: tuple[str, datetime] | None) -> Item:
    """The open work order; ``due`` (next node, due time) puts it in the due-time index."""
    pk, sk = open_key(wo.order_id)
    item: Item = {
        "pk": pk,
        "sk": sk,
        "kind": "wo_open",
        "state": wo.node,
        "owner": wo.provider_id,
        "gsi1pk": OPEN_ORDERS_PK,
        "gsi1sk": f"{wo.provider_id}#{wo.order_id}",
        "data": wo.model_dump_json(),
    }
    if due is not None:
        item["gsi3pk"] = DUE_PK
        item["gsi3sk"] = due_sk(due[1], wo.order_id)
        item["ref"] = due[0]  # the node that is due next
    return item


def due_sk(due: datetime, order_id: str) -> str:
    """The due-time index's sort key of an open work order."""
    return f"{due.isoformat()}#{order_id}"


def breached(item: Item | None) -> bool:
    """Whether the open work order is marked breached at its current node (the overview's gauge)."""
    return bool(item and item.get("breached"))


def created_at(item: Item) -> str:
    """When the open work order was created, as stored."""
    return str(json.loads(item["data"])["created_at"])


def load_open(item: Item) -> OpenWorkOrder:
    return OpenWorkOrder.model_validate_json(item["data"])


def load_node(item: Item) -> NodeEvent:
    return NodeEvent.model_validate_json(item["data"])


def due_time(item: Item) -> datetime | None:
    """The due time an open work order is indexed under; None when no limit applies."""
    if not item.get("gsi3sk"):
        return None
    return datetime.fromisoformat(str(item["gsi3sk"]).split("#", 1)[0])


def next_node(item: Item) -> str:
    """The node an open work order waits for, as the due index recorded it ('' when none)."""
    return str(item.get("ref") or "")


def day_node_prefix(provider_id: str | None) -> str | None:
    """The gsi2 sort-key prefix of one provider's nodes of a day; None: every provider's."""
    return f"{provider_id}#" if provider_id else None
