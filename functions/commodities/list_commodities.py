"""GET /ops/commodities: the catalogue of medicines, supplements and supplies."""

from petcover.api import Call, api, ops
from petcover.models.commodities import CommodityList, CommodityQuery
from petcover.services.commodities import catalog


@api(
    summary="The commodity catalogue",
    auth=ops("ops", "service", "finance"),
    query=CommodityQuery,
    response=CommodityList,
    metric="CommoditiesListed",
    tags=("commodities",),
)
def handler(call: Call) -> CommodityList:
    return catalog.list_commodities(call.ports, call.query)
