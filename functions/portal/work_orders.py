"""/portal/work-orders: the signed-in provider's work orders and each action on one of them."""

from petcover.api import Call, api, portal
from petcover.models.fulfilment import (
    CheckInRequest,
    ConfirmTimeRequest,
    DeclinedWorkOrder,
    DeclineRequest,
    DeliverRequest,
    ShipRequest,
)
from petcover.models.portal import PortalWorkOrder, PortalWorkOrderList, PortalWorkOrderQuery
from petcover.models.sla import ExceptionRaise, WorkOrderException
from petcover.services.portal import work_orders

WO = "/portal/work-orders/{appointmentId}"
TAGS = ("portal",)


@api(
    summary="My work orders, newest first, with what may be done with each now",
    auth=portal("provider"),
    query=PortalWorkOrderQuery,
    response=PortalWorkOrderList,
    metric="PortalWorkOrdersListed",
    tags=TAGS,
    route=("GET", "/portal/work-orders"),
)
def list_orders(call: Call) -> PortalWorkOrderList:
    q: PortalWorkOrderQuery = call.query
    return work_orders.list_work_orders(call.ports, call.principal, status=q.status, limit=q.limit, cursor=q.cursor)


@api(
    summary="One of my work orders",
    auth=portal("provider"),
    response=PortalWorkOrder,
    metric="PortalWorkOrderRead",
    tags=TAGS,
    route=("GET", WO),
)
def get_order(call: Call) -> PortalWorkOrder:
    return work_orders.get(call.ports, call.principal, call.path["appointmentId"])


@api(
    summary="Accept a work order",
    auth=portal("provider"),
    response=PortalWorkOrder,
    metric="PortalWorkOrderAccepted",
    tags=TAGS,
    errors=("ILLEGAL_TRANSITION", "ORDER_LOCKED"),
    route=("POST", f"{WO}/accept"),
)
def accept(call: Call) -> PortalWorkOrder:
    return work_orders.accept(call.ports, call.principal, call.path["appointmentId"])


@api(
    summary="Confirm the appointment time of an offline service (a new check-in code goes to the owner)",
    auth=portal("provider"),
    body=ConfirmTimeRequest,
    response=PortalWorkOrder,
    metric="PortalWorkOrderTimeConfirmed",
    tags=TAGS,
    errors=("ILLEGAL_TRANSITION", "WRONG_SERVICE_MODE", "ORDER_LOCKED"),
    route=("POST", f"{WO}/confirm-time"),
)
def confirm_time(call: Call[ConfirmTimeRequest]) -> PortalWorkOrder:
    return work_orders.confirm_time(call.ports, call.principal, call.path["appointmentId"], call.body)


@api(
    summary="Ship an online service with carrier and tracking number",
    auth=portal("provider"),
    body=ShipRequest,
    response=PortalWorkOrder,
    metric="PortalWorkOrderShipped",
    tags=TAGS,
    errors=("ILLEGAL_TRANSITION", "WRONG_SERVICE_MODE", "ORDER_LOCKED"),
    route=("POST", f"{WO}/ship"),
)
def ship(call: Call[ShipRequest]) -> PortalWorkOrder:
    return work_orders.ship(call.ports, call.principal, call.path["appointmentId"], call.body)


@api(
    summary="Check the pet owner in with the code they show",
    auth=portal("provider"),
    body=CheckInRequest,
    response=PortalWorkOrder,
    metric="PortalWorkOrderCheckedIn",
    tags=TAGS,
    errors=("ILLEGAL_TRANSITION", "WRONG_SERVICE_MODE", "ORDER_LOCKED"),
    route=("POST", f"{WO}/check-in"),
)
def check_in(call: Call[CheckInRequest]) -> PortalWorkOrder:
    return work_orders.check_in(call.ports, call.principal, call.path["appointmentId"], call.body)


@api(
    summary="Mark an offline service delivered",
    auth=portal("provider"),
    body=DeliverRequest,
    response=PortalWorkOrder,
    metric="PortalWorkOrderDelivered",
    tags=TAGS,
    errors=("ILLEGAL_TRANSITION", "WRONG_SERVICE_MODE", "ORDER_LOCKED"),
    route=("POST", f"{WO}/deliver"),
)
def deliver(call: Call[DeliverRequest]) -> PortalWorkOrder:
    return work_orders.deliver(call.ports, call.principal, call.path["appointmentId"], call.body)


@api(
    summary="Decline a work order not yet accepted, with a reason: it is dispatched again without me",
    auth=portal("provider"),
    body=DeclineRequest,
    response=DeclinedWorkOrder,
    metric="PortalWorkOrderDeclined",
    tags=TAGS,
    errors=("ILLEGAL_TRANSITION", "WORK_ORDER_NOT_FOUND", "ORDER_LOCKED"),
    route=("POST", f"{WO}/decline"),
)
def decline(call: Call[DeclineRequest]) -> DeclinedWorkOrder:
    return work_orders.decline(call.ports, call.principal, call.path["appointmentId"], call.body)


@api(
    summary="Raise an exception on one of my work orders (ops is alerted and must handle it within the SLA)",
    auth=portal("provider"),
    body=ExceptionRaise,
    response=WorkOrderException,
    status=201,
    idempotent=True,
    metric="PortalWorkOrderExceptionRaised",
    tags=TAGS,
    errors=("WORK_ORDER_NOT_FOUND", "WORK_ORDER_CLOSED", "EXCEPTION_ALREADY_RAISED"),
    route=("POST", f"{WO}/exception"),
)
def raise_exception(call: Call[ExceptionRaise]) -> WorkOrderException:
    return work_orders.raise_exception(call.ports, call.principal, call.path["appointmentId"], call.body)
