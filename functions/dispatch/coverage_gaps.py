"""GET /ops/dispatch/coverage-gaps: where orders found no rule or no provider, by region and service type."""

from petcover.api import Call, api, ops
from petcover.models.dispatch import CoverageGapList, ListQuery
from petcover.services.dispatch import coverage


@api(
    summary="Coverage gaps by region and service type: how often an order found no rule or no provider, "
    "first and last seen",
    auth=ops("ops"),
    query=ListQuery,
    response=CoverageGapList,
    metric="DispatchGapsRead",
    tags=("dispatch",),
)
def handler(call: Call) -> CoverageGapList:
    q: ListQuery = call.query
    return coverage.coverage_gaps(call.ports, limit=q.limit, cursor=q.cursor)
