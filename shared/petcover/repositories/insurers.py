"""Keys and items of insurer channels.

  PARTNER#{insurer} / INSURERAPI          the insurer's API: URL, timeout, retries, our signing key (sealed)
  ROUTING#{product} / HEAD, V#{n}          a product's routing rules (current, and every version)
  INSROUTE#{product}#{month} / {insurer}   orders routed to each insurer this month (atomic ADD)
  INSURERHEALTH#{insurer} / HEALTH         consecutive failures (``n``), until when its circuit is open (``due``)
  INSPENDING / {policy number}             a policy waiting for its insurer: the settle schedule's Query
  INSFULFIL#{insurer}#{month} / {product}#S{shard:02d}
                                           appointments on the insurer's policies booked (``bookings``)
                                           and fulfilled (``fulfilled``) in the business month, moved
                                           with ADD in the booking's and the fulfilment's transactions;
                                           spread over FULFIL_SHARDS items, one Query sums a month

The policy item itself carries ``insurer`` (the current one) and ``attempt`` (how many times it
has been passed on), and every move of a pending policy is conditional on both.
"""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any, Literal

from petcover.domain.insurer_routing import RoutingRules
from petcover.ports import Item, Page, Store, Update
from petcover.repositories.base import paginate

ENDPOINT_SK = "INSURERAPI"
PENDING_PK = "INSPENDING"
FULFIL_SHARDS = 32  # docs/CAPACITY.md: one insurer carrying every booking and fulfilment at 100x
FulfilmentCounter = Literal["bookings", "fulfilled"]


def endpoint_key(insurer_id: str) -> tuple[str, str]:
    return f"PARTNER#{insurer_id}", ENDPOINT_SK


def routing_head(product_code: str) -> tuple[str, str]:
    return f"ROUTING#{product_code}", "HEAD"


def routing_version(product_code: str, version: int) -> tuple[str, str]:
    return f"ROUTING#{product_code}", f"V#{version:05d}"


def route_counter(product_code: str, month: str, insurer_id: str) -> tuple[str, str]:
    return f"INSROUTE#{product_code}#{month}", insurer_id


def health_key(insurer_id: str) -> tuple[str, str]:
    return f"INSURERHEALTH#{insurer_id}", "HEALTH"


def health_of(item: Item | None) -> tuple[int, float]:
    """(consecutive calls without an answer, epoch seconds until which the circuit is open)."""
    item = item or {}
    return int(item.get("n") or 0), float(item.get("due") or 0)


def health_failed(store: Store, insurer_id: str) -> int:
    return int(store.update(*health_key(insurer_id), add={"n": 1}, set={"kind": "insurer_health"})["n"])


def health_set(store: Store, insurer_id: str, *, failures: int, open_until: float) -> None:
    store.update(*health_key(insurer_id), set={"n": failures, "due": int(open_until), "kind": "insurer_health"})


def pending_key(number: str) -> tuple[str, str]:
    return PENDING_PK, number


# ------------------------------------------------------------------ endpoint
def endpoint_item(insurer_id: str, data: dict[str, Any], sealed: str) -> Item:
    pk, sk = endpoint_key(insurer_id)
    return {"pk": pk, "sk": sk, "kind": "insurer_endpoint", "data": json.dumps({**data, "sealed_secret": sealed})}


def endpoint_data(item: Item) -> tuple[dict[str, Any], str]:
    """(the endpoint's settings, its sealed secret)."""
    d = json.loads(item["data"])
    return {k: v for k, v in d.items() if k != "sealed_secret"}, str(d["sealed_secret"])


def endpoint_context(insurer_id: str, key_id: str) -> dict[str, str]:
    """The encryption context our signing secret for this insurer opens with."""
    return {"purpose": "insurer-api", "insurer": insurer_id, "key": key_id}


# ------------------------------------------------------------------ routing rules
def routing_items(product_code: str, version: int, rules: RoutingRules, at: datetime, by: str) -> tuple[Item, Item]:
    data = json.dumps({"rules": rules.model_dump(mode="json"), "updated_at": at.isoformat(), "updated_by": by})
    head_pk, head_sk = routing_head(product_code)
    v_pk, v_sk = routing_version(product_code, version)
    head = {"pk": head_pk, "sk": head_sk, "kind": "insurer_routing", "version": version, "data": data}
    return head, {"pk": v_pk, "sk": v_sk, "kind": "insurer_routing_version", "version": version, "data": data}


def routing_from_item(item: Item) -> tuple[int, RoutingRules, dict[str, Any]]:
    d = json.loads(item["data"])
    return int(item["version"]), RoutingRules.model_validate(d["rules"]), d


def month_counts(store: Store, product_code: str, month: str) -> dict[str, int]:
    page = store.query(f"INSROUTE#{product_code}#{month}", limit=100)
    return {str(i["sk"]): int(i.get("n", 0)) for i in page.items}


def count_routed(store: Store, product_code: str, month: str, insurer_id: str) -> None:
    store.update(*route_counter(product_code, month, insurer_id), add={"n": 1}, set={"kind": "insurer_route_count"})


# ------------------------------------------------------------------ fulfilment per product
def fulfilment_pk(insurer_id: str, month: str) -> str:
    return f"INSFULFIL#{insurer_id}#{month}"


def fulfilment_add(insurer_id: str, month: str, product_code: str, counter: FulfilmentCounter) -> Update:
    """ADD 1 to one random shard of the product's month row, for the event's own transaction."""
    sk = f"{product_code}#S{random.randrange(FULFIL_SHARDS):02d}"
    return Update(fulfilment_pk(insurer_id, month), sk, add={counter: 1}, set={"kind": "insurer_fulfilment"})


def fulfilment_counts(store: Store, insurer_id: str, month: str) -> dict[str, dict[str, int]]:
    """{product: {"bookings": n, "fulfilled": n}} of the insurer's month, the shards summed."""
    out: dict[str, dict[str, int]] = {}
    for item in paginate(store, fulfilment_pk(insurer_id, month), limit=500):
        row = out.setdefault(str(item["sk"]).rsplit("#S", 1)[0], {"bookings": 0, "fulfilled": 0})
        for counter in ("bookings", "fulfilled"):
            row[counter] += int(item.get(counter) or 0)
    return out


# ------------------------------------------------------------------ pending policies
def with_insurer(policy_item: Item, insurer_id: str, attempt: int) -> Item:
    """A policy item that records its current insurer and how many times it was passed on."""
    return {**policy_item, "insurer": insurer_id, "attempt": attempt}


def pending_item(number: str, *, channel_id: str, insurer_id: str, attempt: int, due: float, since: float) -> Item:
    pk, sk = pending_key(number)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "insurer_pending",
        "owner": channel_id,
        "insurer": insurer_id,
        "attempt": attempt,
        "due": int(due),
        "data": json.dumps({"since": int(since)}),
    }


def pending(store: Store, *, limit: int = 200, cursor: str | None = None) -> Page:
    return store.query(PENDING_PK, limit=limit, cursor=cursor)


def pending_since(marker: Item) -> float | None:
    """When the marker's current insurer was first asked (epoch seconds)."""
    since = json.loads(marker.get("data") or "{}").get("since")
    return float(since) if since is not None else None
