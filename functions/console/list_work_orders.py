"""GET /ops/work-orders: work orders by provider, region, service type, status or overdue, paged."""

from petcover.api import Call, api, ops
from petcover.models.work_orders import WorkOrderPage, WorkOrderQuery
from petcover.services.sla import listing


@api(
    summary="Work orders filtered by provider, region, service type, status (node, or closed on a day) or "
    "overdue, paged through an index",
    auth=ops("ops", "service"),
    query=WorkOrderQuery,
    response=WorkOrderPage,
    metric="WorkOrdersListed",
    tags=("console",),
    errors=("WORK_ORDER_FILTER_INVALID",),
)
def handler(call: Call) -> WorkOrderPage:
    return listing.list_work_orders(call.ports, call.query)
