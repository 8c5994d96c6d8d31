"""Publish a product version for sale."""

from petcover.api import Call, api, ops
from petcover.models.catalog import ProductOut, PublishRequest
from petcover.services import catalog


@api(
    summary="Publish a product version for sale",
    auth=ops("underwriter"),
    body=PublishRequest,
    response=ProductOut,
    metric="ProductPublished",
    tags=("catalogue",),
)
def handler(call: Call[PublishRequest]) -> ProductOut:
    return catalog.publish_product(call.ports, call.principal, call.path["code"], call.body.version)
