"""A provider's work orders in the portal: the list with what may be done now, and each action.

Each action is the signed provider API's own service (``fulfilment.work_orders``, ``declines``,
``sla.exceptions``) called with the portal principal, so ownership, locks, conditional writes and
the timeline are the same: another provider's order is simply not found.
"""

from __future__ import annotations

from petcover.identity import Principal
from petcover.models.fulfilment import (
    CheckInRequest,
    ConfirmTimeRequest,
    DeclinedWorkOrder,
    DeclineRequest,
    DeliverRequest,
    ShipRequest,
    WorkOrder,
)
from petcover.models.portal import PortalAction, PortalWorkOrder, PortalWorkOrderList
from petcover.models.sla import ExceptionRaise, WorkOrderException
from petcover.ports import Ports
from petcover.services.fulfilment import declines
from petcover.services.fulfilment import work_orders as provider_side
from petcover.services.sla import exceptions


def actions_for(wo: WorkOrder) -> list[PortalAction]:
    """What the provider may do with the order now (the buttons the portal shows)."""
    out: list[PortalAction] = []
    if wo.status == "booking":
        out = ["accept", "decline"]
    elif wo.status == "booked" and wo.mode == "offline":
        out = ["confirm_time", "check_in"] if wo.appointment_time else ["confirm_time"]
    elif wo.status == "booked":
        out = ["ship"]
    elif wo.status == "fulfilling":
        out = ["deliver"] if wo.mode == "offline" else ["track"]
    if wo.status in ("booking", "booked", "fulfilling"):
        out.append("raise_exception")
    return out


def _with_actions(wo: WorkOrder) -> PortalWorkOrder:
    return PortalWorkOrder(**wo.model_dump(), actions=actions_for(wo))


def list_work_orders(
    p: Ports, who: Principal, *, status: str | None, limit: int, cursor: str | None
) -> PortalWorkOrderList:
    page = provider_side.list_work_orders(p, who, status=status, limit=limit, cursor=cursor)
    return PortalWorkOrderList(items=[_with_actions(w) for w in page.items], cursor=page.cursor)


def get(p: Ports, who: Principal, appointment_id: str) -> PortalWorkOrder:
    return _with_actions(provider_side.get_work_order(p, who, appointment_id))


def accept(p: Ports, who: Principal, appointment_id: str) -> PortalWorkOrder:
    return _with_actions(provider_side.accept(p, who, appointment_id))


def confirm_time(p: Ports, who: Principal, appointment_id: str, req: ConfirmTimeRequest) -> PortalWorkOrder:
    return _with_actions(provider_side.confirm_time(p, who, appointment_id, req))


def ship(p: Ports, who: Principal, appointment_id: str, req: ShipRequest) -> PortalWorkOrder:
    return _with_actions(provider_side.ship(p, who, appointment_id, req))


def check_in(p: Ports, who: Principal, appointment_id: str, req: CheckInRequest) -> PortalWorkOrder:
    return _with_actions(provider_side.check_in(p, who, appointment_id, req))


def deliver(p: Ports, who: Principal, appointment_id: str, req: DeliverRequest) -> PortalWorkOrder:
    return _with_actions(provider_side.deliver(p, who, appointment_id, req))


def decline(p: Ports, who: Principal, appointment_id: str, req: DeclineRequest) -> DeclinedWorkOrder:
    return declines.decline(p, who, appointment_id, req)


def raise_exception(p: Ports, who: Principal, appointment_id: str, req: ExceptionRaise) -> WorkOrderException:
    return exceptions.raise_exception(p, who, appointment_id, req)
