"""GET /ops/commodities/{sku}: a commodity, the version in effect and its versions."""

from petcover.api import Call, api, ops
from petcover.models.commodities import CommodityOut
from petcover.services.commodities import catalog


@api(
    summary="A commodity with its version in effect and its versions",
    auth=ops("ops", "service", "finance"),
    response=CommodityOut,
    metric="CommodityRead",
    tags=("commodities",),
    errors=("COMMODITY_NOT_FOUND",),
)
def handler(call: Call) -> CommodityOut:
    return catalog.get_commodity(call.ports, call.path["sku"])
