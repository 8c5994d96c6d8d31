"""POST /ops/service-requests: customer service records a request for an e-policy or an invoice."""

from petcover.api import Call, api, ops
from petcover.models.service_requests import ServiceRequest, ServiceRequestCreate
from petcover.services import service_requests


@api(
    summary="Record a customer's request for an e-policy or an invoice; it is routed at once to underwriting "
    "(e-policy) or finance (invoice)",
    auth=ops("service"),
    body=ServiceRequestCreate,
    response=ServiceRequest,
    status=201,
    idempotent=True,
    metric="ServiceRequestRecorded",
    tags=("console",),
    errors=("POLICY_NOT_FOUND",),
)
def handler(call: Call[ServiceRequestCreate]) -> ServiceRequest:
    return service_requests.create(call.ports, call.principal, call.body)
