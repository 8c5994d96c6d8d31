"""POST /ops/work-orders/{orderId}/complaints: ops record a complaint against a work order."""

from petcover.api import Call, api, ops
from petcover.models.quality import Complaint, ComplaintRequest
from petcover.services.quality import feedback


@api(
    summary="Record a complaint against a work order's provider, with its category (audited with the reason)",
    auth=ops("ops", "service"),
    body=ComplaintRequest,
    response=Complaint,
    status=201,
    idempotent=True,
    metric="ComplaintRecorded",
    tags=("quality",),
    errors=("WORK_ORDER_NOT_FOUND",),
)
def handler(call: Call[ComplaintRequest]) -> Complaint:
    return feedback.complain(call.ports, call.principal, call.path["orderId"], call.body)
