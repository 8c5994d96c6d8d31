"""POST /ops/service-requests/{requestId}/e-policy: generate the e-policy PDF and mail it."""

from petcover.api import Call, api, ops
from petcover.models.service_requests import ServiceRequest
from petcover.services import service_requests


@api(
    summary="Generate the e-policy (PDF with a verification code) and mail it to the customer; a failed mail "
    "leaves it generated, and calling again sends the same PDF",
    auth=ops("underwriter"),
    response=ServiceRequest,
    metric="EPolicySent",
    tags=("console",),
    errors=(
        "SERVICE_REQUEST_NOT_FOUND",
        "WRONG_REQUEST_KIND",
        "ILLEGAL_TRANSITION",
        "POLICY_NOT_ACTIVE",
        "MAIL_NOT_SENT",
        "SERVICE_REQUEST_CHANGED",
    ),
)
def handler(call: Call) -> ServiceRequest:
    return service_requests.send_e_policy(call.ports, call.principal, call.path["requestId"])
