"""GET /ops/partners/{partnerId}/open-orders: the orders a provider holds and has not finished."""

from petcover.api import Call, api, ops
from petcover.models.fulfilment import OpenOrderList
from petcover.services.partners import status


@api(
    summary="Orders a provider holds and has not finished, and which of them can be reassigned",
    auth=ops("ops"),
    response=OpenOrderList,
    metric="PartnerOpenOrdersRead",
    tags=("partners",),
    errors=("PARTNER_NOT_FOUND",),
)
def handler(call: Call) -> OpenOrderList:
    return status.open_orders(call.ports, call.path["partnerId"])
