"""Commodities, provider stock, stock moves, reservations and per-item allowances.

Keys (main table):
  COMMODITY#{sku} / HEAD                  status, latest version; gsi1 COMMODITIES / {sku}
  COMMODITY#{sku} / V#{n:06d}             an immutable version (price, effective time)
  STOCK#{provider} / {region}#{sku}       counters on_hand, reserved, available (= on_hand - reserved),
                                          low (flag), crossings, threshold; gsi1 STOCKSKU#{region}#{sku} /
                                          {provider} (dispatch: who stocks it), gsi2 STOCKREGION#{region} /
                                          {sku}#{provider} (the daily report)
  STOCKREGIONS / {region}                 the warehouse regions that have stock (the daily report's list)
  STOCKMOVE#{provider}#{region}#{sku} / {at}#{id}  one move and its reason; gsi3 STOCKMOVES#{region}#{day}
  RESV#{appointment} / R#{seq:04d}        a reservation of an order's items (reserved -> shipped | released)
  POLICY#{n} / ITEMS#{benefit}#{sku}      units of one SKU taken from the benefit's allowance this term
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from petcover.domain.commodities import CommodityHead, CommodityVersion, MoveKind, PricedItem
from petcover.ports import Cond, Item, Ports, Put, Store, Update
from petcover.repositories.base import paginate
from petcover.repositories.policies import policy_pk

HEAD = "HEAD"
ALL_COMMODITIES = "COMMODITIES"
REGIONS_PK = "STOCKREGIONS"
MOVE_TTL_SECONDS = 400 * 86400


# ---------------------------------------------------------------- catalogue


def commodity_key(sku: str) -> tuple[str, str]:
    return commodity_pk(sku), HEAD


def commodity_pk(sku: str) -> str:
    return f"COMMODITY#{sku}"


def version_sk(n: int) -> str:
    return f"V#{n:06d}"


def head_item(head: CommodityHead, *, version: int) -> Item:
    return {
        "pk": commodity_pk(head.sku),
        "sk": HEAD,
        "kind": "commodity",
        "state": head.status,
        "version": version,
        "gsi1pk": ALL_COMMODITIES,
        "gsi1sk": head.sku,
        "data": head.model_dump_json(),
    }


def version_item(v: CommodityVersion) -> Item:
    return {
        "pk": commodity_pk(v.sku),
        "sk": version_sk(v.version),
        "kind": "commodity_version",
        "data": v.model_dump_json(),
    }


def load_head(item: Item) -> CommodityHead:
    return CommodityHead.model_validate(json.loads(item["data"]))


def find_head(p: Ports, sku: str) -> tuple[CommodityHead, Item] | None:
    item = p.store.get(commodity_pk(sku), HEAD)
    return (load_head(item), item) if item else None


def versions(p: Ports, sku: str, limit: int = 50) -> list[CommodityVersion]:
    """The latest ``limit`` versions, newest first."""
    page = p.store.query(commodity_pk(sku), sk_prefix="V#", descending=True, limit=limit)
    return [CommodityVersion.model_validate(json.loads(i["data"])) for i in page.items]


def heads_page(p: Ports, limit: int, cursor: str | None) -> tuple[list[CommodityHead], str | None]:
    page = p.store.query(ALL_COMMODITIES, index="gsi1", limit=limit, cursor=cursor)
    return [load_head(i) for i in page.items], page.cursor


# ---------------------------------------------------------------- stock


def stock_key(provider_id: str, region: str, sku: str) -> tuple[str, str]:
    return f"STOCK#{provider_id}", f"{region}#{sku}"


def stock_item(provider_id: str, region: str, sku: str, on_hand: int, threshold: int, name: str, at: datetime) -> Item:
    pk, sk = stock_key(provider_id, region, sku)
    data = {"provider_id": provider_id, "region": region, "sku": sku, "name": name, "updated_at": at.isoformat()}
    return {
        "pk": pk,
        "sk": sk,
        "kind": "stock",
        "on_hand": on_hand,
        "reserved": 0,
        "available": on_hand,
        "threshold": threshold,
        "state": "ok",  # "low" once available fell below the threshold (alerted), "ok" again when restocked
        "crossings": 0,
        "version": 1,
        "gsi1pk": f"STOCKSKU#{region}#{sku}",
        "gsi1sk": provider_id,
        "gsi2pk": f"STOCKREGION#{region}",
        "gsi2sk": f"{sku}#{provider_id}",
        "data": json.dumps(data),
    }


def stock_name(item: Item) -> str:
    return str(json.loads(item.get("data") or "{}").get("name") or "")


def stockists(p: Ports, region: str, sku: str) -> dict[str, int]:
    """provider -> units available of ``sku`` in ``region`` (an index read: a hint, not a promise)."""
    out: dict[str, int] = {}
    for item in paginate(p.store, f"STOCKSKU#{region}#{sku}", index="gsi1", limit=200):
        out[str(item["gsi1sk"])] = int(item.get("available", 0))
    return out


def provider_stock(p: Ports, provider_id: str, region: str | None, limit: int, cursor: str | None) -> Any:
    return p.store.query(f"STOCK#{provider_id}", sk_prefix=f"{region}#" if region else None, limit=limit, cursor=cursor)


def region_stock(store: Store, region: str) -> Iterator[Item]:
    return paginate(store, f"STOCKREGION#{region}", index="gsi2", limit=500)


def region_marker(region: str) -> Put:
    return Put({"pk": REGIONS_PK, "sk": region, "kind": "stock_region"})


def regions(store: Store) -> list[str]:
    return [str(i["sk"]) for i in paginate(store, REGIONS_PK, limit=200)]


def move(
    provider_id: str,
    region: str,
    sku: str,
    kind: MoveKind,
    *,
    on_hand: int,
    reserved: int,
    reason: str,
    ref: str | None,
    by: str,
    at: datetime,
    day: str,
) -> Put:
    """One stock move (the change of each counter) and why it happened."""
    mid = uuid.uuid4().hex[:12]
    stamp = f"{at.isoformat()}#{mid}"
    data = {
        "provider_id": provider_id,
        "region": region,
        "sku": sku,
        "kind": kind,
        "on_hand": on_hand,
        "reserved": reserved,
        "reason": reason,
        "ref": ref,
        "by": by,
        "at": at.isoformat(),
    }
    return Put(
        {
            "pk": f"STOCKMOVE#{provider_id}#{region}#{sku}",
            "sk": stamp,
            "kind": "stock_move",
            "gsi3pk": f"STOCKMOVES#{region}#{day}",
            "gsi3sk": stamp,
            "expires_at": int(at.timestamp()) + MOVE_TTL_SECONDS,
            "data": json.dumps(data),
        }
    )


def moves_of(store: Store, provider_id: str, region: str, sku: str, limit: int = 100) -> list[dict[str, Any]]:
    page = store.query(f"STOCKMOVE#{provider_id}#{region}#{sku}", descending=True, limit=limit)
    return [json.loads(i["data"]) for i in page.items]


def day_moves(store: Store, region: str, day: str) -> Iterator[dict[str, Any]]:
    for item in paginate(store, f"STOCKMOVES#{region}#{day}", index="gsi3", limit=500):
        yield json.loads(item["data"])


# ---------------------------------------------------------------- reservations


def reservation_pk(appointment_id: str) -> str:
    return f"RESV#{appointment_id}"


def reservation_sk(seq: int) -> str:
    return f"R#{seq:04d}"


def reservation(
    appointment_id: str, seq: int, provider_id: str, region: str, items: Mapping[str, int], at: datetime
) -> Put:
    data = {"provider_id": provider_id, "region": region, "items": dict(items), "at": at.isoformat()}
    return Put(
        {
            "pk": reservation_pk(appointment_id),
            "sk": reservation_sk(seq),
            "kind": "reservation",
            "state": "reserved",
            "data": json.dumps(data),
        },
        if_absent=True,
    )


def reservations(p: Ports, appointment_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(sk, state, data) of every reservation of the order, oldest first (a handful at most)."""
    page = p.store.query(reservation_pk(appointment_id), sk_prefix="R#", limit=100)
    return [(str(i["sk"]), str(i.get("state")), json.loads(i["data"])) for i in page.items]


def settle_reservation(appointment_id: str, sk: str, state: str, reason: str, at: datetime) -> Update:
    """reserved -> shipped | released, once: conditional on it still being reserved."""
    return Update(
        reservation_pk(appointment_id),
        sk,
        set={"state": state, "note": f"{at.isoformat()} {reason}"[:500]},
        expect=[("state", "=", "reserved")],
        must_exist=True,
    )


# ---------------------------------------------------------------- allowances


def allowance_key(policy_number: str, benefit_code: str, sku: str) -> tuple[str, str]:
    return policy_pk(policy_number), f"ITEMS#{benefit_code}#{sku}"


def take_allowance(policy_number: str, benefit_code: str, item: PricedItem, allowance: int | None) -> Update:
    """Units taken from the per-item allowance; refused when the term's allowance would be passed."""
    pk, sk = allowance_key(policy_number, benefit_code, item.sku)
    guard: list[Cond] = [("taken", "<=?", allowance - item.quantity)] if allowance is not None else []
    return Update(pk, sk, add={"taken": item.quantity}, expect=guard)


def give_back_allowance(policy_number: str, benefit_code: str, sku: str, units: int) -> Update:
    pk, sk = allowance_key(policy_number, benefit_code, sku)
    return Update(pk, sk, add={"taken": -units}, expect=[("taken", ">=", units)])


def allowance_taken(p: Ports, policy_number: str, benefit_code: str, skus: Sequence[str]) -> dict[str, int]:
    out = {}
    for sku in skus:
        item = p.store.get(*allowance_key(policy_number, benefit_code, sku))
        out[sku] = int(item.get("taken", 0)) if item else 0
    return out
