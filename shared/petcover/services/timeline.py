"""Work-order timeline: every node with its time, provider, region and service type.

Fulfilment calls ``record`` at each node; SLA monitoring reads what it maintains:
  WO#{order} / NODE#{at}#{node}   one item per node (gsi2 NODESDAY#{day} for daily reports)
  WO#{order} / OPEN               the open work order: current node, and while a limit applies,
                                  gsi3 DUE / {due_at}#{order}, the index the minute check queries
                                  (gsi1 OPENWO / {provider}#{order}: the nightly summary's list)
Completing (or cancelling) an order deletes OPEN, so neither index keeps closed orders.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from petcover.domain import sla
from petcover.ports import Item, Ports

CLOSING_NODES = {sla.COMPLETED, "cancelled"}


def current_config(p: Ports) -> sla.SlaConfig:
    item = p.store.get("SLACONFIG", "CURRENT", consistent=False)
    if item is None:
        return sla.DEFAULT_SLA
    return sla.parse_sla_config(json.loads(item["data"]))


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
    """Append the node and move the open work order (and its due time) forward."""
    at = at or p.now()
    day = at.date().isoformat()
    p.store.put(
        {
            "pk": f"WO#{order_id}",
            "sk": f"NODE#{at.isoformat()}#{node}",
            "kind": "wo_node",
            "gsi2pk": f"NODESDAY#{day}",
            "gsi2sk": f"{provider_id}#{at.isoformat()}#{order_id}",
            "data": sla.NodeEvent(
                order_id=order_id, provider_id=provider_id, region=region, service_type=service_type, node=node, at=at
            ).model_dump_json(),
        }
    )
    if node in CLOSING_NODES:
        p.store.delete(f"WO#{order_id}", "OPEN")
        return None
    existing = p.store.get(f"WO#{order_id}", "OPEN")
    created = json.loads(existing["data"])["created_at"] if existing else at.isoformat()
    wo = sla.OpenWorkOrder(
        order_id=order_id,
        provider_id=provider_id,
        service_type=service_type,
        node=node,
        entered_at=at,
        created_at=created,
        owner=owner,
        region=region,
        core_provider=core_provider,
        online=online,
    )
    item: Item = {
        "pk": f"WO#{order_id}",
        "sk": "OPEN",
        "kind": "wo_open",
        "state": node,
        "owner": provider_id,
        "gsi1pk": "OPENWO",
        "gsi1sk": f"{provider_id}#{order_id}",
        "data": wo.model_dump_json(),
    }
    due = sla.due_at(
        current_config(p), node, service_type, at, region=region, core_provider=core_provider, online=online
    )
    if due is not None:
        item["gsi3pk"] = "DUE"
        item["gsi3sk"] = f"{due[1].isoformat()}#{order_id}"
        item["ref"] = due[0]  # the node that is due next
    p.store.put(item)
    return wo


def open_orders(p: Ports, provider_id: str | None = None) -> list[sla.OpenWorkOrder]:
    out: list[sla.OpenWorkOrder] = []
    cursor = None
    while True:
        page = p.store.query(
            "OPENWO", index="gsi1", sk_prefix=f"{provider_id}#" if provider_id else None, limit=500, cursor=cursor
        )
        out.extend(sla.OpenWorkOrder.model_validate(json.loads(i["data"])) for i in page.items)
        cursor = page.cursor
        if not cursor:
            return out


def overdue(p: Ports, now: datetime, limit: int = 500) -> list[tuple[sla.OpenWorkOrder, str, datetime]]:
    """Open orders whose next node was due before ``now`` (the index query, no scan)."""
    page = p.store.query("DUE", index="gsi3", sk_lte=now.isoformat(), limit=limit)
    out = []
    for i in page.items:
        due_iso = i["gsi3sk"].rsplit("#", 1)[0]
        out.append(
            (
                sla.OpenWorkOrder.model_validate(json.loads(i["data"])),
                str(i.get("ref")),
                datetime.fromisoformat(due_iso),
            )
        )
    return out


def nodes(p: Ports, order_id: str) -> list[sla.NodeEvent]:
    page = p.store.query(f"WO#{order_id}", sk_prefix="NODE#", limit=200)
    return [sla.NodeEvent.model_validate(json.loads(i["data"])) for i in page.items]


def day_events(p: Ports, day: str) -> list[sla.NodeEvent]:
    out: list[sla.NodeEvent] = []
    cursor = None
    while True:
        page = p.store.query(f"NODESDAY#{day}", index="gsi2", limit=1000, cursor=cursor)
        out.extend(sla.NodeEvent.model_validate(json.loads(i["data"])) for i in page.items)
        cursor = page.cursor
        if not cursor:
            return out


def as_dict(wo: sla.OpenWorkOrder) -> dict[str, Any]:
    return wo.model_dump(mode="json")
