"""POST /work-orders/{appointmentId}/deliver: offline service delivered (fulfilling -> fulfilled)."""

from petcover.api import Call, api, provider
from petcover.models.fulfilment import DeliverRequest, WorkOrder
from petcover.services.fulfilment import work_orders


@api(
    summary="Mark an offline service delivered; the appointment becomes fulfilled and quota is deducted",
    auth=provider(),
    body=DeliverRequest,
    response=WorkOrder,
    metric="WorkOrderDelivered",
    tags=("work-orders",),
    errors=("ILLEGAL_TRANSITION", "WRONG_SERVICE_MODE", "ORDER_LOCKED"),
)
def handler(call: Call[DeliverRequest]) -> WorkOrder:
    return work_orders.deliver(call.ports, call.principal, call.path["appointmentId"], call.body)
