"""PUT /partner/stock: a provider publishes its stock per SKU and warehouse region, one row or up to 200."""

from petcover.api import Call, api, provider
from petcover.models.commodities import StockPublish, StockPublishResult
from petcover.services.commodities import stock


@api(
    summary="Publish stock counts per SKU and warehouse region (each row applied on its own)",
    auth=provider(),
    body=StockPublish,
    response=StockPublishResult,
    idempotent=True,
    metric="StockPublished",
    tags=("stock",),
    errors=("WRONG_PARTNER_KIND",),
)
def handler(call: Call[StockPublish]) -> StockPublishResult:
    return stock.publish_stock(call.ports, call.principal, call.body)
