"""GET /work-orders/{appointmentId}: one work order of the calling provider."""

from petcover.api import Call, api, provider
from petcover.models.fulfilment import WorkOrder
from petcover.services.fulfilment import work_orders


@api(
    summary="A work order of the calling provider",
    auth=provider(),
    response=WorkOrder,
    metric="WorkOrderRead",
    tags=("work-orders",),
)
def handler(call: Call) -> WorkOrder:
    return work_orders.get_work_order(call.ports, call.principal, call.path["appointmentId"])
