"""Dispatch and stock: only providers stocking every item of the order in its warehouse region are
candidates, and the chosen one's units are reserved before its capacity slot is taken."""

from __future__ import annotations

from petcover.domain.commodities import warehouse_region
from petcover.models.dispatch import DispatchMessage
from petcover.ports import Ports
from petcover.repositories import commodities as goods_records
from petcover.services.commodities import stock

AUTO = "system:dispatch"


def region_of(msg: DispatchMessage) -> str:
    return warehouse_region(msg.province)


def stock_misfits(p: Ports, msg: DispatchMessage, allowed: set[str]) -> tuple[dict[str, str], list[str]]:
    """(provider -> the item it lacks, and when no provider in ``allowed`` stocks every item: the
    SKUs that were lacking). One index read per SKU; the reservation is the conditional truth."""
    if not msg.items:
        return {}, []
    region = region_of(msg)
    why: dict[str, str] = {}
    lacked: set[str] = set()
    for sku, qty in msg.items.items():
        have = goods_records.stockists(p, region, sku)
        for pid in sorted(allowed):
            if have.get(pid, 0) < qty:
                lacked.add(sku)
                why.setdefault(pid, f"does not stock {qty} x {sku} in region {region} ({have.get(pid, 0)} available)")
    if allowed - set(why):
        return why, []
    return why, sorted(lacked or msg.items)


def clear_leftovers(p: Ports, msg: DispatchMessage) -> None:
    """Release what an earlier, crashed attempt at this order reserved (nothing, normally: one query)."""
    if msg.items:
        stock.release(p, msg.appointment_id, "dispatch decided again", AUTO)


def reserve(p: Ports, msg: DispatchMessage, provider_id: str, attempt: int) -> str | None:
    """None when every item is reserved at the provider, else the SKU it lacks."""
    if not msg.items:
        return None
    return stock.reserve(p, msg.appointment_id, msg.round * 100 + attempt, provider_id, region_of(msg), msg.items)


def give_back(p: Ports, msg: DispatchMessage, reason: str) -> None:
    if msg.items:
        stock.release(p, msg.appointment_id, reason, AUTO)


def gap_reason(msg: DispatchMessage, reason: str, missing: list[str]) -> str:
    if not missing:
        return reason
    return f"{reason} Missing stock in region {region_of(msg)}: {', '.join(sorted(missing))}."
