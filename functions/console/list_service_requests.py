"""GET /ops/service-requests: a queue's requests in one state, or one policy's requests."""

from petcover.api import Call, api, ops
from petcover.models.service_requests import ServiceRequestList, ServiceRequestQuery
from petcover.services import service_requests


@api(
    summary="Service requests of a queue (underwriting, finance) in one state, oldest first; or of one policy",
    auth=ops("service", "underwriter", "finance"),
    query=ServiceRequestQuery,
    response=ServiceRequestList,
    metric="ServiceRequestsListed",
    tags=("console",),
    errors=("SERVICE_REQUEST_FILTER_REQUIRED",),
)
def handler(call: Call) -> ServiceRequestList:
    return service_requests.listing(call.ports, call.query)
