"""Modify a product: a new draft version; published versions never change."""

from petcover.api import Call, api, ops
from petcover.domain.catalog import ProductSpec
from petcover.models.catalog import ProductOut
from petcover.services import catalog


@api(
    summary="Modify a product: a new draft version; published versions never change",
    auth=ops("underwriter"),
    body=ProductSpec,
    response=ProductOut,
    metric="ProductModified",
    tags=("catalogue",),
)
def handler(call: Call[ProductSpec]) -> ProductOut:
    return catalog.modify_product(call.ports, call.principal, call.path["code"], call.body)
