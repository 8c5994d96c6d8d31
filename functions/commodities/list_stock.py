"""GET /partner/stock: the calling provider's stock: on hand, reserved for orders, available."""

from petcover.api import Call, api, provider
from petcover.models.commodities import StockList, StockQuery
from petcover.services.commodities import stock


@api(
    summary="My stock per SKU and warehouse region",
    auth=provider(),
    query=StockQuery,
    response=StockList,
    metric="StockListed",
    tags=("stock",),
    errors=("WRONG_PARTNER_KIND",),
)
def handler(call: Call) -> StockList:
    return stock.list_stock(call.ports, call.principal, call.query)
