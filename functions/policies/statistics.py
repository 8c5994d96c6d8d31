"""Staff: statistics by channel, product, plan and day or month, from counters."""

from petcover.api import Call, api, ops
from petcover.models.policies import Statistics, StatisticsQuery
from petcover.services import reports


@api(
    summary="Statistics by channel, product, plan and day or month",
    auth=ops("finance", "sales"),
    query=StatisticsQuery,
    response=Statistics,
    metric="StatisticsRead",
    tags=("reports",),
)
def handler(call: Call) -> Statistics:
    return reports.statistics(call.ports, call.query)
