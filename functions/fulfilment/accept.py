"""POST /work-orders/{appointmentId}/accept: the provider takes the order (booking -> booked)."""

from petcover.api import Call, api, provider
from petcover.models.fulfilment import WorkOrder
from petcover.services.fulfilment import work_orders


@api(
    summary="Accept a work order",
    auth=provider(),
    response=WorkOrder,
    metric="WorkOrderAccepted",
    tags=("work-orders",),
    errors=("ILLEGAL_TRANSITION", "ORDER_LOCKED"),
)
def handler(call: Call) -> WorkOrder:
    return work_orders.accept(call.ports, call.principal, call.path["appointmentId"])
