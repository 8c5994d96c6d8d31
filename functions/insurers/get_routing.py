"""GET /ops/products/{code}/insurers: the routing rules, each insurer's health and this month's shares."""

from petcover.api import Call, NoBody, api, ops
from petcover.models.insurers import RoutingView
from petcover.services.insurers import routing


@api(
    summary="A product's insurer channels: the rules, each insurer's health and its orders this month",
    auth=ops("ops", "finance"),
    response=RoutingView,
    metric="InsurerRoutingRead",
    tags=("insurers",),
    errors=("PRODUCT_NOT_FOUND",),
)
def handler(call: Call[NoBody]) -> RoutingView:
    return routing.view(call.ports, call.path["code"])
