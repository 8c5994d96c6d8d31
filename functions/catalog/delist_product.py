"""Delist a product: no new sales, existing policies unaffected."""

from petcover.api import Call, api, ops
from petcover.models.catalog import ProductHead
from petcover.models.common import ReasonBody
from petcover.services import catalog


@api(
    summary="Delist a product (reason required): no new sales, existing policies unaffected",
    auth=ops("underwriter"),
    body=ReasonBody,
    response=ProductHead,
    metric="ProductDelisted",
    tags=("catalogue",),
)
def handler(call: Call[ReasonBody]) -> ProductHead:
    return catalog.delist_product(call.ports, call.principal, call.path["code"], reason=call.body.reason)
