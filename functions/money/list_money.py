"""GET /ops/money/{view}: what finance lists (money requests, settlements, fee schedules, reconciliation nights)."""

from petcover.api import Call, api, ops
from petcover.models.money import MoneyList, MoneyListPath, MoneyListQuery
from petcover.services.money import lists


@api(
    summary="One page of a money list: money-requests (status pending, the default, or decided; or a state), "
    "settlements (a month, or a party; optional status), fee-schedules (every version of a service type, "
    "or the latest of each) or reconciliation-reports (nights, latest first, with their counts of differences)",
    auth=ops("finance"),
    path=MoneyListPath,
    query=MoneyListQuery,
    response=MoneyList,
    metric="MoneyListRead",
    tags=("money",),
)
def handler(call: Call) -> MoneyList:
    return lists.listing(call.ports, call.path["view"], call.query)
