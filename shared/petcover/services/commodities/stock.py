"""Provider stock: publishing counts, and the moves orders make (reserve, ship, release).

Every move is a conditional write on the stock item's counters, written in one transaction with
a move record saying why (``repositories.commodities.move``):

- publish (provider): ``on_hand`` set to the count, conditional on the version read and never
  below what is reserved;
- reserve (dispatch chose the provider): ``available -q, reserved +q`` only while ``available >= q``;
- ship (provider): ``reserved -r, on_hand -s`` and the unshipped ``r - s`` back to available;
- release (cancellation, decline): ``reserved -q, available +q``, once: the reservation item moves
  reserved -> released in the same transaction, conditional on still being reserved.

After a move that lowers or raises availability, ``check_low`` flips the item's low flag with a
conditional write and raises one chat alert per crossing to the provider's group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from petcover.config import get_settings
from petcover.domain import calendar
from petcover.domain.commodities import low_stock_crossing, low_stock_text
from petcover.errors import BusinessRuleViolation, DomainError, Forbidden, NotFound, StaleWrite, Unavailable
from petcover.identity import Principal
from petcover.models.commodities import (
    StockList,
    StockPublish,
    StockPublishResult,
    StockQuery,
    StockRow,
    StockRowResult,
    StockView,
)
from petcover.observability import logger
from petcover.ports import Cond, Item, Ports, Put, Update, WriteOp
from petcover.repositories import commodities as repo
from petcover.services import alerts

PUBLISH_TRIES = 3


@dataclass(frozen=True)
class Where:
    """One stock item: a provider's SKU in a warehouse region."""

    provider_id: str
    region: str
    sku: str


def view(item: Item) -> StockView:
    region, sku = str(item["sk"]).split("#", 1)
    return StockView(
        sku=sku,
        region=region,
        name=repo.stock_name(item),
        on_hand=int(item.get("on_hand", 0)),
        reserved=int(item.get("reserved", 0)),
        available=int(item.get("available", 0)),
        low_threshold=int(item.get("threshold", 0)),
        low=item.get("state") == "low",
    )


def _move(p: Ports, w: Where, kind: str, *, on_hand: int, reserved: int, reason: str, ref: str | None, by: str) -> Put:
    now = p.now()
    return repo.move(
        w.provider_id,
        w.region,
        w.sku,
        kind,  # type: ignore[arg-type]
        on_hand=on_hand,
        reserved=reserved,
        reason=reason,
        ref=ref,
        by=by,
        at=now,
        day=calendar.day_of(now).isoformat(),
    )


# ---------------------------------------------------------------- publishing (provider)


def _publish_row(p: Ports, provider_id: str, row: StockRow, reason: str) -> StockView:
    w = Where(provider_id, row.region, row.sku)
    key = repo.stock_key(provider_id, row.region, row.sku)
    by = f"provider:{provider_id}"
    for _ in range(PUBLISH_TRIES):
        item = p.store.get(*key)
        if item is None:
            found = repo.find_head(p, row.sku)
            if found is None:
                raise NotFound(f"Commodity {row.sku} is not in the catalogue.", code="COMMODITY_NOT_FOUND")
            threshold = row.low_threshold if row.low_threshold is not None else get_settings().low_stock_threshold
            ops: list[WriteOp] = [
                Put(
                    repo.stock_item(provider_id, row.region, row.sku, row.on_hand, threshold, found[0].name, p.now()),
                    if_absent=True,
                ),
                repo.region_marker(row.region),
                _move(p, w, "publish", on_hand=row.on_hand, reserved=0, reason=reason, ref=None, by=by),
            ]
        else:
            reserved = int(item.get("reserved", 0))
            if row.on_hand < reserved:
                raise BusinessRuleViolation(
                    f"{row.sku} in {row.region}: {reserved} units are reserved for dispatched orders; "
                    f"on_hand cannot be {row.on_hand}.",
                    code="STOCK_BELOW_RESERVED",
                    details={"reserved": reserved},
                )
            delta = row.on_hand - int(item.get("on_hand", 0))
            changes: dict[str, object] = {"on_hand": row.on_hand, "available": row.on_hand - reserved}
            if row.low_threshold is not None:
                changes["threshold"] = row.low_threshold
            ops = [
                Update(*key, set=changes, add={"version": 1}, expect=[("version", "=", item.get("version"))]),
                _move(p, w, "publish", on_hand=delta, reserved=0, reason=reason, ref=None, by=by),
            ]
        try:
            p.store.transact(ops)
        except StaleWrite:
            continue  # a reservation or another count moved it meanwhile: read again
        check_low(p, w)
        got = p.store.get(*key)
        assert got is not None
        return view(got)
    raise Unavailable(f"Stock of {row.sku} in {row.region} is busy; retry shortly.", retry_after=1)


def publish_stock(p: Ports, who: Principal, req: StockPublish) -> StockPublishResult:
    """PUT /partner/stock: each row on its own; a bad row is reported, the others are applied."""
    if who.kind != "provider":
        raise Forbidden("Stock is published by providers.", code="WRONG_PARTNER_KIND")
    results: list[StockRowResult] = []
    for i, row in enumerate(req.items):
        try:
            v = _publish_row(p, who.id, row, req.reason)
            results.append(StockRowResult(index=i, sku=row.sku, region=row.region, status="updated", stock=v))
        except DomainError as exc:
            err = {"code": exc.code, "message": exc.message}
            results.append(StockRowResult(index=i, sku=row.sku, region=row.region, status="rejected", error=err))
    updated = sum(1 for r in results if r.status == "updated")
    return StockPublishResult(updated=updated, rejected=len(results) - updated, items=results)


def list_stock(p: Ports, who: Principal, q: StockQuery) -> StockList:
    if who.kind != "provider":
        raise Forbidden("Stock is published by providers.", code="WRONG_PARTNER_KIND")
    page = repo.provider_stock(p, who.id, q.region, q.limit, q.cursor)
    return StockList(items=[view(i) for i in page.items], cursor=page.cursor)


# ---------------------------------------------------------------- order moves


def reserve(
    p: Ports, appointment_id: str, seq: int, provider_id: str, region: str, items: Mapping[str, int]
) -> str | None:
    """Reserve every item for the order at the provider: None when done, else the SKU it lacks.

    One transaction: the reservation item (once per ``seq``), then for each SKU the conditional
    move of its counters and the move record.
    """
    ops: list[WriteOp] = [repo.reservation(appointment_id, seq, provider_id, region, items, p.now())]
    for sku, qty in items.items():
        w = Where(provider_id, region, sku)
        ops.append(
            Update(
                *repo.stock_key(provider_id, region, sku),
                add={"available": -qty, "reserved": qty, "version": 1},
                expect=[("available", ">=", qty)],
                must_exist=True,
            )
        )
        ops.append(
            _move(
                p, w, "reserve", on_hand=0, reserved=qty, reason="dispatched", ref=appointment_id, by="system:dispatch"
            )
        )
    try:
        p.store.transact(ops)
    except StaleWrite:
        return _short(p, appointment_id, seq, provider_id, region, items)
    for sku in items:
        check_low(p, Where(provider_id, region, sku))
    return None


def _short(
    p: Ports, appointment_id: str, seq: int, provider_id: str, region: str, items: Mapping[str, int]
) -> str | None:
    """Why a reservation was refused: the first SKU short at the provider (strongly consistent reads)."""
    for sku, qty in items.items():
        item = p.store.get(*repo.stock_key(provider_id, region, sku))
        if item is None or int(item.get("available", 0)) < qty:
            return sku
    for sk, _state, _data in repo.reservations(p, appointment_id):
        if sk == repo.reservation_sk(seq):
            return None  # our own reservation from an earlier attempt of this message
    return next(iter(items))  # stock came back meanwhile; count it as short and decide again


def release_ops(p: Ports, appointment_id: str, reason: str, by: str) -> tuple[list[WriteOp], list[Where]]:
    """The writes that give back every open reservation of the order (for the caller's transaction)."""
    ops: list[WriteOp] = []
    touched: list[Where] = []
    for sk, state, data in repo.reservations(p, appointment_id):
        if state != "reserved":
            continue
        ops.append(repo.settle_reservation(appointment_id, sk, "released", reason, p.now()))
        for sku, qty in data["items"].items():
            w = Where(data["provider_id"], data["region"], sku)
            ops.append(
                Update(
                    *repo.stock_key(w.provider_id, w.region, sku),
                    add={"reserved": -qty, "available": qty, "version": 1},
                    expect=[("reserved", ">=", qty)],
                )
            )
            ops.append(_move(p, w, "release", on_hand=0, reserved=-qty, reason=reason, ref=appointment_id, by=by))
            touched.append(w)
    return ops, touched


def release(p: Ports, appointment_id: str, reason: str, by: str) -> int:
    """Give back the order's open reservations on their own (dispatch lost a provider's last slot)."""
    ops, touched = release_ops(p, appointment_id, reason, by)
    if not ops:
        return 0
    p.store.transact(ops)
    recheck(p, touched)
    return len(touched)


def ship_ops(
    p: Ports, appointment_id: str, provider_id: str, region: str, shipped: Mapping[str, int], reason: str, by: str
) -> tuple[list[WriteOp], list[Where]]:
    """The writes of a shipment: the reservation settles, shipped units leave, unshipped ones return.

    An order without an open reservation at this provider (assigned by ops) takes the shipped
    units straight from what is available, conditionally.
    """
    _check_unreserved(p, appointment_id, provider_id, region, shipped)
    mine = [
        (sk, d)
        for sk, st, d in repo.reservations(p, appointment_id)
        if st == "reserved" and d["provider_id"] == provider_id
    ]
    ops: list[WriteOp] = []
    touched: list[Where] = []
    reserved: dict[str, int] = {}
    region_of = region
    if mine:
        sk, data = mine[-1]
        reserved = {k: int(v) for k, v in data["items"].items()}
        region_of = data["region"]
        ops.append(repo.settle_reservation(appointment_id, sk, "shipped", reason, p.now()))
    for sku, qty in shipped.items():
        r = reserved.get(sku, 0)
        w = Where(provider_id, region_of, sku)
        guard: list[Cond]
        if mine:
            guard = [("reserved", ">=", r)]
            add = {"on_hand": -qty, "reserved": -r, "available": r - qty, "version": 1}
        else:
            guard = [("available", ">=", qty)]
            add = {"on_hand": -qty, "available": -qty, "version": 1}
        if qty == 0 and r == 0:
            continue
        ops.append(Update(*repo.stock_key(provider_id, region_of, sku), add=add, expect=guard, must_exist=True))
        ops.append(_move(p, w, "ship", on_hand=-qty, reserved=-r, reason=reason, ref=appointment_id, by=by))
        touched.append(w)
    return ops, touched


def _check_unreserved(p: Ports, appointment_id: str, provider_id: str, region: str, shipped: Mapping[str, int]) -> None:
    """An order without a reservation at this provider (assigned by ops) ships from what is available:
    say which SKU is short before the transaction refuses it."""
    if any(st == "reserved" and d["provider_id"] == provider_id for _, st, d in repo.reservations(p, appointment_id)):
        return
    for sku, qty in shipped.items():
        item = p.store.get(*repo.stock_key(provider_id, region, sku))
        have = int(item.get("available", 0)) if item else 0
        if have < qty:
            raise BusinessRuleViolation(
                f"{qty} units of {sku} cannot ship: {have} are available in region {region}; publish the stock first.",
                code="OUT_OF_STOCK",
                details={"sku": sku, "available": have},
            )


# ---------------------------------------------------------------- low stock


def check_low(p: Ports, w: Where) -> bool:
    """Flip the low flag when availability crossed the threshold; alert once per downward crossing.

    The flag moves with a conditional write, so of two concurrent checks one alerts; the alert's
    dedupe key names the crossing, so the daily report's catch-up never alerts twice either.
    """
    key = repo.stock_key(w.provider_id, w.region, w.sku)
    item = p.store.get(*key)
    if item is None:
        return False
    available, threshold = int(item.get("available", 0)), int(item.get("threshold", 0))
    crossing = low_stock_crossing(available, threshold, item.get("state") == "low")
    if crossing is None:
        return False
    try:
        if crossing == "up":
            p.store.update(*key, set={"state": "ok"}, expect=[("state", "=", "low")])
            return False
        item = p.store.update(*key, set={"state": "low"}, add={"crossings": 1}, expect=[("state", "=", "ok")])
    except StaleWrite:
        return False  # another check flipped it first
    return alert_low(p, item)


def alert_low(p: Ports, item: Item) -> bool:
    """The chat alert of the item's current crossing (deduplicated by it)."""
    v = view(item)
    provider_id = str(item["pk"]).split("#", 1)[1]
    text = low_stock_text(
        get_settings().language,
        provider=provider_id,
        region=v.region,
        sku=v.sku,
        name=v.name,
        available=v.available,
        threshold=v.low_threshold,
    )
    key = f"lowstock:{provider_id}:{v.region}:{v.sku}:{int(item.get('crossings', 0))}"
    try:
        from petcover.services.sla.chat_targets import provider_chat_target  # partner accounts: only to alert

        return alerts.raise_alert(p, target=provider_chat_target(p, provider_id), text=text, dedupe_key=key)
    except DomainError:
        logger.exception("low-stock alert not queued; the daily report retries it", extra={"dedupe_key": key})
        return False


def recheck(p: Ports, touched: list[Where]) -> None:
    for w in dict.fromkeys(touched):
        check_low(p, w)
