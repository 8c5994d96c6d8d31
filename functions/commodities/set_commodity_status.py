"""POST /ops/commodities/{sku}/status: publish or withdraw a commodity, with a reason."""

from petcover.api import Call, api, ops
from petcover.models.commodities import CommodityOut, CommodityStatusRequest
from petcover.services.commodities import catalog


@api(
    summary="Publish or withdraw a commodity (a withdrawn one is refused in new bookings)",
    auth=ops("ops"),
    body=CommodityStatusRequest,
    response=CommodityOut,
    metric="CommodityStatusChanged",
    tags=("commodities",),
    errors=("COMMODITY_NOT_FOUND", "COMMODITY_CHANGED"),
)
def handler(call: Call[CommodityStatusRequest]) -> CommodityOut:
    return catalog.set_status(call.ports, call.principal, call.path["sku"], call.body)
