"""PUT /ops/commodities/{sku}: create a commodity (version 1, a draft) or add a version (a price change)."""

from petcover.api import Call, api, ops
from petcover.domain.commodities import CommoditySpec
from petcover.errors import InvalidInput
from petcover.models.commodities import CommodityOut
from petcover.services.commodities import catalog


@api(
    summary="Create a commodity or add a version of it (a price change takes effect at effective_at)",
    auth=ops("ops"),
    body=CommoditySpec,
    response=CommodityOut,
    idempotent=True,
    metric="CommodityVersionSaved",
    tags=("commodities",),
    errors=("COMMODITY_CHANGED", "CATEGORY_IMMUTABLE"),
)
def handler(call: Call[CommoditySpec]) -> CommodityOut:
    if call.body.sku != call.path["sku"]:
        raise InvalidInput("The body's sku must be the one in the path.", code="SKU_MISMATCH")
    return catalog.save_version(call.ports, call.principal, call.body)
