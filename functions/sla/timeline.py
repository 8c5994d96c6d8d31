"""GET /ops/work-orders/{orderId}/timeline: every node, the current due time, breaches, exceptions."""

from petcover.api import Call, api, ops
from petcover.models.sla import WorkOrderTimeline
from petcover.services.sla import work_orders


@api(
    summary="Timeline of one work order: nodes with time, provider, region and service type; the node "
    "it waits for and when that is due; SLA breaches and exceptions",
    auth=ops("ops"),
    response=WorkOrderTimeline,
    metric="WorkOrderTimelineRead",
    tags=("sla",),
    errors=("WORK_ORDER_NOT_FOUND",),
)
def handler(call: Call) -> WorkOrderTimeline:
    return work_orders.work_order_timeline(call.ports, call.path["orderId"])
