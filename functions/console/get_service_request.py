"""GET /ops/service-requests/{requestId}: one service request with its steps."""

from petcover.api import Call, api, ops
from petcover.models.service_requests import ServiceRequest
from petcover.services import service_requests


@api(
    summary="One service request with its steps, e-policy or invoice",
    auth=ops("service", "underwriter", "finance"),
    response=ServiceRequest,
    metric="ServiceRequestRead",
    tags=("console",),
    errors=("SERVICE_REQUEST_NOT_FOUND",),
)
def handler(call: Call) -> ServiceRequest:
    return service_requests.get(call.ports, call.path["requestId"])
