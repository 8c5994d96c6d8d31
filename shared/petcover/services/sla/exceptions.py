"""Work-order exceptions: a provider raises one (ops is alerted), ops handles it within the SLA.

Both record a timeline node under the order's fulfilment lock, so they never interleave with
fulfilment's own nodes.
"""

from __future__ import annotations

from datetime import datetime

from petcover.domain import sla
from petcover.errors import Conflict, IllegalTransition, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.sla import ExceptionHandled, ExceptionRaise, WorkOrderException
from petcover.observability import logger
from petcover.ports import Item, Ports, Put, Update, WriteOp
from petcover.repositories import sla as keys
from petcover.services import alerts, audit, locks, timeline
from petcover.services.sla import messages
from petcover.services.sla.times import iso
from petcover.services.sla.work_orders import open_order

WORK_ORDER_LOCK = "FUL"  # fulfilment's per-order lock module: a work order's nodes are recorded under it


def _advance(p: Ports, wo: sla.OpenWorkOrder, node: str, at: datetime) -> list[WriteOp]:
    """The node's writes, for the transaction of the exception change it records."""
    ops, _ = timeline.node_ops(
        p,
        order_id=wo.order_id,
        provider_id=wo.provider_id,
        node=node,
        service_type=wo.service_type,
        region=wo.region,
        online=wo.online,
        core_provider=wo.core_provider,
        owner=wo.owner,
        at=at,
    )
    return ops


def _not_found(order_id: str) -> NotFound:
    return NotFound(f"There is no work order {order_id}.", code="WORK_ORDER_NOT_FOUND")


# ---------------------------------------------------------------- raising


def raise_exception(p: Ports, who: Principal, order_id: str, body: ExceptionRaise) -> WorkOrderException:
    """A provider reports a problem with its work order: the order enters ``exception_raised``
    (ops must handle it within the SLA) and the ops group hears about it at once.

    Runs under the order's fulfilment lock, so the node never interleaves with fulfilment's."""
    with locks.held(p, order_id, WORK_ORDER_LOCK):
        record, wo = _raise(p, who, order_id, body)
    try:
        title, text = messages.exception_alert(wo, body.reason)
        alerts.raise_alert(p, target=None, text=text, title=title, dedupe_key=f"woexc#{order_id}#{record.raised_at}")
    except Exception:
        # Recorded anyway: the minute check alerts ops if it is not handled in time.
        logger.exception("exception alert not queued", extra={"order_id": order_id})
    return record


def _raise(
    p: Ports, who: Principal, order_id: str, body: ExceptionRaise
) -> tuple[WorkOrderException, sla.OpenWorkOrder]:
    try:
        wo = open_order(p, order_id)
    except IllegalTransition:
        if who.kind == "provider" and not _belongs_to(p, order_id, who.id):
            raise _not_found(order_id) from None
        raise
    if who.kind == "provider" and wo.provider_id != who.id:
        raise _not_found(order_id)
    if wo.node == sla.EXCEPTION_RAISED:
        raise IllegalTransition(
            f"Work order {order_id} already has an open exception; ops is handling it.",
            code="EXCEPTION_ALREADY_RAISED",
        )
    now = p.now()
    record = WorkOrderException(
        order_id=order_id,
        state="open",
        raised_at=iso(now),
        raised_by=audit.actor_name(who),
        reason=body.reason,
        node_before=wo.node,
    )
    p.store.transact(
        [
            Put(keys.exception_item(record), if_absent=True),
            *_advance(p, wo, sla.EXCEPTION_RAISED, now),
            audit.entry(p, who, "work_order", order_id, "exception_raised", after=record.model_dump(mode="json")),
        ]
    )
    return record, wo


def _belongs_to(p: Ports, order_id: str, provider_id: str) -> bool:
    first = timeline.first_node(p, order_id)
    return first is not None and first.provider_id == provider_id


# ---------------------------------------------------------------- handling


def handle_exception(p: Ports, who: Principal | str, order_id: str, body: ExceptionHandled) -> WorkOrderException:
    """Ops closes the open exception: the order enters ``exception_handled`` (under the order's lock)."""
    with locks.held(p, order_id, WORK_ORDER_LOCK):
        return _handle(p, who, order_id, body)


def _handle(p: Ports, who: Principal | str, order_id: str, body: ExceptionHandled) -> WorkOrderException:
    wo = open_order(p, order_id)
    if wo.node != sla.EXCEPTION_RAISED:
        raise IllegalTransition(
            f"Work order {order_id} has no open exception (it is at '{wo.node}').", code="NO_OPEN_EXCEPTION"
        )
    now = p.now()
    actor = audit.actor_name(who)
    open_items = [i for i in keys.exception_items(p.store, order_id) if i.get("state") == "open"]
    marked: list[tuple[WorkOrderException, WriteOp]] = [_mark_handled(item, now, actor, body) for item in open_items]
    if not marked:  # raised without its record (a raise before it was one transaction): keep a record
        marked.append(_record_unrecorded(wo, now, actor, body))
    latest = max((done for done, _ in marked), key=lambda e: e.raised_at)
    ops: list[WriteOp] = [
        *(op for _, op in marked),
        *_advance(p, wo, sla.EXCEPTION_HANDLED, now),
        audit.entry(p, who, "work_order", order_id, "exception_handled", after=latest.model_dump(mode="json")),
    ]
    try:
        p.store.transact(ops)
    except StaleWrite:
        raise Conflict(
            f"The exception of work order {order_id} was handled by someone else just now.",
            code="EXCEPTION_ALREADY_HANDLED",
        ) from None
    return latest


def _mark_handled(item: Item, now: datetime, actor: str, body: ExceptionHandled) -> tuple[WorkOrderException, Update]:
    done = keys.load_exception(item).model_copy(
        update={"state": "handled", "handled_at": iso(now), "handled_by": actor, "resolution": body.resolution}
    )
    op = Update(
        item["pk"],
        item["sk"],
        set={"state": "handled", "data": done.model_dump_json()},
        expect=[("state", "=", "open")],
        must_exist=True,
    )
    return done, op


def _record_unrecorded(
    wo: sla.OpenWorkOrder, now: datetime, actor: str, body: ExceptionHandled
) -> tuple[WorkOrderException, Put]:
    done = WorkOrderException(
        order_id=wo.order_id,
        state="handled",
        raised_at=iso(wo.entered_at),
        raised_by="unknown",
        reason="(not recorded)",
        node_before=sla.EXCEPTION_RAISED,
        handled_at=iso(now),
        handled_by=actor,
        resolution=body.resolution,
    )
    return done, Put(keys.exception_item(done))
