"""POST /work-orders/{appointmentId}/tracking: a tracking update of a shipped service."""

from petcover.api import Call, api, provider
from petcover.models.fulfilment import TrackingRequest, WorkOrder
from petcover.services.fulfilment import work_orders


@api(
    summary="Add a tracking update to a shipped service",
    auth=provider(),
    body=TrackingRequest,
    response=WorkOrder,
    metric="WorkOrderTracked",
    tags=("work-orders",),
    errors=("ILLEGAL_TRANSITION", "WRONG_SERVICE_MODE", "ORDER_LOCKED"),
)
def handler(call: Call[TrackingRequest]) -> WorkOrder:
    return work_orders.track(call.ports, call.principal, call.path["appointmentId"], call.body)
