"""PUT /ops/products/{code}/insurers: a product's insurer channels and routing rules (a new version)."""

from petcover.api import Call, api, ops
from petcover.domain.insurer_routing import RoutingRules
from petcover.models.insurers import RoutingSaved
from petcover.services.insurers import routing


@api(
    summary="Set the insurer channels of a product: weights, rates, minimum monthly volumes, pinned channels "
    "('petcover' is in-house underwriting); each save is a new, audited version",
    auth=ops("ops"),
    body=RoutingRules,
    response=RoutingSaved,
    metric="InsurerRoutingSaved",
    tags=("insurers",),
    errors=("PRODUCT_NOT_FOUND", "INSURER_NOT_FOUND", "INSURER_CLOSED", "INSURER_NOT_CONFIGURED", "ROUTING_CHANGED"),
)
def handler(call: Call[RoutingRules]) -> RoutingSaved:
    return routing.save_rules(call.ports, call.principal, call.path["code"], call.body)
