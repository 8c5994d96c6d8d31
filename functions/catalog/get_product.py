"""A product and one of its versions (the latest by default)."""

from petcover.api import Call, api, ops
from petcover.models.catalog import ProductOut, ProductQuery
from petcover.services import catalog


@api(
    summary="A product and one of its versions (the latest by default)",
    auth=ops("underwriter", "sales", "service", "finance"),
    query=ProductQuery,
    response=ProductOut,
    metric="ProductRead",
    tags=("catalogue",),
)
def handler(call: Call) -> ProductOut:
    return catalog.get_product(call.ports, call.path["code"], call.query.version)
