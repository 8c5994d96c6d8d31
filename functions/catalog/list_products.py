"""List products with their status and versions."""

from petcover.api import Call, api, ops
from petcover.models.catalog import ProductList
from petcover.services import catalog


@api(
    summary="List products with their status and versions",
    auth=ops("underwriter", "sales", "service", "finance"),
    response=ProductList,
    metric="ProductsListed",
    tags=("catalogue",),
)
def handler(call: Call) -> ProductList:
    return ProductList(items=catalog.list_products(call.ports))
