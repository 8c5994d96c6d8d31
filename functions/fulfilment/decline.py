"""POST /work-orders/{appointmentId}/decline: the provider turns down an order it has not accepted."""

from petcover.api import Call, api, provider
from petcover.models.fulfilment import DeclinedWorkOrder, DeclineRequest
from petcover.services.fulfilment import declines


@api(
    summary="Decline a work order not yet accepted, with a reason: it is dispatched again without this provider",
    auth=provider(),
    body=DeclineRequest,
    response=DeclinedWorkOrder,
    metric="WorkOrderDeclined",
    tags=("work-orders",),
    errors=("ILLEGAL_TRANSITION", "WORK_ORDER_NOT_FOUND", "ORDER_LOCKED"),
)
def handler(call: Call[DeclineRequest]) -> DeclinedWorkOrder:
    return declines.decline(call.ports, call.principal, call.path["appointmentId"], call.body)
