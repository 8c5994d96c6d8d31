"""GET /ops/work-orders/{orderId}: one work order's page: timeline against the SLA, appointment, actions."""

from petcover.api import Call, api, ops
from petcover.models.work_orders import WorkOrderDetail
from petcover.services.sla import work_order_page


@api(
    summary="One work order: its timeline against SLA due times, breaches, exceptions, its appointment and "
    "the actions staff may take",
    auth=ops("ops", "service"),
    response=WorkOrderDetail,
    metric="WorkOrderPageRead",
    tags=("console",),
    errors=("WORK_ORDER_NOT_FOUND",),
)
def handler(call: Call) -> WorkOrderDetail:
    return work_order_page.work_order_detail(call.ports, call.path["orderId"])
