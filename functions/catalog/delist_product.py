"""Delist a product: no new sales, existing policies unaffected."""

from petcover.api import Call, api, ops
from petcover.models.catalog import ProductHead
from petcover.services import catalog


@api(
    summary="Delist a product: no new sales, existing policies unaffected",
    auth=ops("underwriter"),
    response=ProductHead,
    metric="ProductDelisted",
    tags=("catalogue",),
)
def handler(call: Call) -> ProductHead:
    return catalog.delist_product(call.ports, call.principal, call.path["code"])
