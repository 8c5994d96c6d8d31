"""POST /work-orders/{appointmentId}/ship: online service shipped (booked -> fulfilling)."""

from petcover.api import Call, api, provider
from petcover.models.fulfilment import ShipRequest, WorkOrder
from petcover.services.fulfilment import work_orders


@api(
    summary="Ship an online service with carrier and tracking number",
    auth=provider(),
    body=ShipRequest,
    response=WorkOrder,
    metric="WorkOrderShipped",
    tags=("work-orders",),
    errors=("ILLEGAL_TRANSITION", "WRONG_SERVICE_MODE", "ORDER_LOCKED"),
)
def handler(call: Call[ShipRequest]) -> WorkOrder:
    return work_orders.ship(call.ports, call.principal, call.path["appointmentId"], call.body)
