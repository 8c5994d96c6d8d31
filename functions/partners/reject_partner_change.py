"""POST /ops/partners/{partnerId}/changes/{requestId}/reject: keep the live configuration."""

from petcover.api import Call, api, ops
from petcover.models.partners import ChangeRequest, RejectBody
from petcover.services.partners import changes


@api(
    summary="Reject a change request (reason required); the live configuration stays",
    auth=ops("ops"),
    body=RejectBody,
    response=ChangeRequest,
    metric="PartnerChangeRejected",
    tags=("partners",),
    errors=("CHANGE_NOT_FOUND", "ILLEGAL_TRANSITION", "STALE_WRITE"),
)
def handler(call: Call[RejectBody]) -> ChangeRequest:
    return changes.reject_change(
        call.ports, call.principal, call.path["partnerId"], call.path["requestId"], call.body.reason
    )
