"""GET /work-orders/{appointmentId}: one work order of the calling provider."""

from petcover.api import Call, api, provider
from petcover.models.fulfilment import WorkOrder
from petcover.services import fulfilment


@api(
    summary="A work order of the calling provider",
    auth=provider(),
    response=WorkOrder,
    metric="WorkOrderRead",
    tags=("work-orders",),
)
def handler(call: Call) -> WorkOrder:
    return fulfilment.get_work_order(call.ports, call.principal, call.path["appointmentId"])
