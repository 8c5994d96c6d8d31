"""GET /work-orders: the calling provider's own work orders, newest first."""

from petcover.api import Call, api, provider
from petcover.models.fulfilment import WorkOrderList, WorkOrderQuery
from petcover.services.fulfilment import work_orders


@api(
    summary="Work orders assigned to the calling provider",
    auth=provider(),
    query=WorkOrderQuery,
    response=WorkOrderList,
    metric="WorkOrdersListed",
    tags=("work-orders",),
)
def handler(call: Call) -> WorkOrderList:
    q: WorkOrderQuery = call.query
    return work_orders.list_work_orders(call.ports, call.principal, status=q.status, limit=q.limit, cursor=q.cursor)
