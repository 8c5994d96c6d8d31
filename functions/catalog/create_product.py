"""Create a product draft (version 1)."""

from petcover.api import Call, api, ops
from petcover.domain.catalog import ProductSpec
from petcover.models.catalog import ProductOut
from petcover.services import catalog


@api(
    summary="Create a product draft (version 1)",
    auth=ops("underwriter"),
    body=ProductSpec,
    response=ProductOut,
    status=201,
    idempotent=True,
    metric="ProductCreated",
    tags=("catalogue",),
)
def handler(call: Call[ProductSpec]) -> ProductOut:
    return catalog.create_product(call.ports, call.principal, call.body)
