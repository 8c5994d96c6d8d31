"""The commodity catalogue: ops save versions (a price change is a new version), publish and withdraw.

A version never changes once written; the head item carries the status and the latest version
number, and every change to it is conditional on the number read (a concurrent save is a 409).
Bookings read the version in effect at their time and keep it on the order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from petcover.domain.commodities import CommodityHead, CommoditySpec, CommodityVersion, version_in_effect
from petcover.errors import Conflict, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.commodities import CommodityList, CommodityOut, CommodityQuery, CommodityStatusRequest
from petcover.ports import Ports, Put, Update
from petcover.repositories import commodities as repo
from petcover.services import audit


def _changed(sku: str) -> Conflict:
    return Conflict(f"Commodity {sku} changed meanwhile; read it and retry.", code="COMMODITY_CHANGED")


def save_version(p: Ports, who: Principal, spec: CommoditySpec) -> CommodityOut:
    """PUT /ops/commodities/{sku}: version 1 creates the commodity (a draft); later ones add a version."""
    now = p.now()
    found = repo.find_head(p, spec.sku)
    n = found[0].latest_version + 1 if found else 1
    version = CommodityVersion(
        sku=spec.sku,
        version=n,
        name=spec.name,
        category=spec.category,
        specification=spec.specification,
        unit=spec.unit,
        prescription_only=spec.prescription_only,
        species=spec.species,
        list_price=spec.list_price,
        effective_at=spec.effective_at or now,
        created_at=now,
        created_by=audit.actor_name(who),
    )
    if found:
        head = found[0].model_copy(update={"latest_version": n, "name": spec.name, "updated_at": now})
        if head.category != spec.category:
            raise Conflict(f"The category of {spec.sku} cannot change; create another SKU.", code="CATEGORY_IMMUTABLE")
        head_op: Put | Update = Update(
            *repo.commodity_key(spec.sku),
            set={"data": head.model_dump_json(), "version": n},
            expect=[("version", "=", n - 1)],
        )
    else:
        head = CommodityHead(
            sku=spec.sku, name=spec.name, category=spec.category, status="draft", latest_version=1, updated_at=now
        )
        head_op = Put(repo.head_item(head, version=1), if_absent=True)
    ops = [
        head_op,
        Put(repo.version_item(version), if_absent=True),
        audit.entry(p, who, "commodity", spec.sku, "version", after=version.model_dump(mode="json")),
    ]
    try:
        p.store.transact(ops)
    except StaleWrite:
        raise _changed(spec.sku) from None
    return get_commodity(p, spec.sku)


def set_status(p: Ports, who: Principal, sku: str, req: CommodityStatusRequest) -> CommodityOut:
    """POST /ops/commodities/{sku}/status: publish (again) or withdraw, with the reason audited."""
    found = repo.find_head(p, sku)
    if found is None:
        raise NotFound(f"Commodity {sku} does not exist.", code="COMMODITY_NOT_FOUND")
    head, item = found
    if head.status == req.status:
        return get_commodity(p, sku)
    new = head.model_copy(update={"status": req.status, "status_reason": req.reason, "updated_at": p.now()})
    try:
        p.store.transact(
            [
                Update(
                    *repo.commodity_key(sku),
                    set={"state": req.status, "data": new.model_dump_json()},
                    expect=[("version", "=", int(item["version"])), ("state", "=", head.status)],
                ),
                audit.entry(
                    p,
                    who,
                    "commodity",
                    sku,
                    "publish" if req.status == "published" else "withdraw",
                    before={"status": head.status},
                    after={"status": req.status},
                    reason=req.reason,
                ),
            ]
        )
    except StaleWrite:
        raise _changed(sku) from None
    return get_commodity(p, sku)


def get_commodity(p: Ports, sku: str) -> CommodityOut:
    found = repo.find_head(p, sku)
    if found is None:
        raise NotFound(f"Commodity {sku} does not exist.", code="COMMODITY_NOT_FOUND")
    versions = repo.versions(p, sku)
    return CommodityOut(head=found[0], current=version_in_effect(versions, p.now()), versions=versions)


def list_commodities(p: Ports, q: CommodityQuery) -> CommodityList:
    heads, cursor = repo.heads_page(p, q.limit, q.cursor)
    return CommodityList(items=[h for h in heads if q.category in (None, h.category)], cursor=cursor)


def in_effect(
    p: Ports, skus: Sequence[str], at: datetime
) -> dict[str, tuple[CommodityHead | None, CommodityVersion | None]]:
    """For each SKU its head and the version in effect at ``at`` (two reads per SKU)."""
    out: dict[str, tuple[CommodityHead | None, CommodityVersion | None]] = {}
    for sku in skus:
        found = repo.find_head(p, sku)
        if found is None:
            out[sku] = (None, None)
            continue
        out[sku] = (found[0], version_in_effect(repo.versions(p, sku, limit=10), at))
    return out
