"""An order's items through fulfilment: what a shipment, a cancellation and a decline move.

Each returns writes for the change's own transaction (so the stock, the reservation and the
benefit's per-item allowance move with the appointment or not at all) and the stock items
touched, to re-check against their low-stock threshold after the commit.
"""

from __future__ import annotations

from typing import Any

from petcover.domain import commodities as rules
from petcover.errors import InvalidInput
from petcover.identity import Principal
from petcover.models.fulfilment import Appointment, Shipment, ShipRequest
from petcover.ports import Ports, WriteOp
from petcover.repositories import commodities as goods_records
from petcover.services.commodities import stock
from petcover.services.fulfilment.transitions import actor

Touched = list[stock.Where]


def shipment_of(
    p: Ports, who: Principal, doc: Appointment, req: ShipRequest, shipment: Shipment
) -> tuple[Shipment, list[WriteOp], Touched]:
    """The shipment with its items, partial reason and fee, and the writes that move the stock.

    Units ordered but not shipped go back to the provider's available stock and to the benefit's
    allowance; the fee is the shipped units at the order's booked prices.
    """
    if not doc.items:
        if req.items or req.partial_reason:
            raise InvalidInput("This order has no items to ship.", code="ITEMS_NOT_ACCEPTED")
        return shipment, [], []
    shipped = rules.shipped_quantities(doc.items, req.items)
    partial = rules.is_partial(doc.items, shipped)
    if partial and not req.partial_reason:
        raise InvalidInput(
            "Fewer units are shipped than ordered: say why in partial_reason.",
            code="PARTIAL_REASON_REQUIRED",
            details=[{"field": "partial_reason", "message": "required for a partial shipment"}],
        )
    reason = f"partial shipment: {req.partial_reason}" if partial else "shipped"
    assert doc.provider_id is not None
    ops, touched = stock.ship_ops(
        p,
        doc.appointment_id,
        doc.provider_id,
        rules.warehouse_region(doc.address.province),
        shipped,
        reason,
        actor(who),
    )
    for i in doc.items:
        unshipped = i.quantity - shipped.get(i.sku, 0)
        if unshipped and doc.benefit_code:
            ops.append(goods_records.give_back_allowance(doc.policy_number, doc.benefit_code, i.sku, unshipped))
    fee = rules.order_total(doc.items, shipped)
    done = shipment.model_copy(
        update={"items": shipped, "partial_reason": req.partial_reason if partial else None, "fee": str(fee)}
    )
    return done, ops, touched


def shipped_payload(shipment: Shipment) -> dict[str, Any]:
    if shipment.items is None:
        return {}
    return {"items": shipment.items, "partial_reason": shipment.partial_reason, "fee": shipment.fee}


def cancellation_ops(p: Ports, who: Principal | str, doc: Appointment, reason: str) -> tuple[list[WriteOp], Touched]:
    """Reservations released (once) and the whole allowance given back."""
    if not doc.items:
        return [], []
    ops, touched = stock.release_ops(p, doc.appointment_id, f"cancelled: {reason}", actor(who))
    ops += [
        goods_records.give_back_allowance(doc.policy_number, doc.benefit_code, i.sku, i.quantity) for i in doc.items
    ]
    return ops, touched


def decline_ops(p: Ports, who: Principal, doc: Appointment, reason: str) -> tuple[list[WriteOp], Touched]:
    """The declining provider's reservation released; the order keeps its allowance (it is redispatched)."""
    if not doc.items:
        return [], []
    return stock.release_ops(p, doc.appointment_id, f"declined: {reason}", actor(who))


def after_moves(p: Ports, touched: Touched) -> None:
    stock.recheck(p, touched)
