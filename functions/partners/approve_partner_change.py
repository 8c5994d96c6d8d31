"""POST /ops/partners/{partnerId}/changes/{requestId}/approve: apply the change atomically."""

from petcover.api import Call, api, ops
from petcover.models.partners import ApproveBody, ChangeRequest
from petcover.services.partners import changes


@api(
    summary="Approve a change request: the proposed configuration goes live atomically",
    auth=ops("ops"),
    body=ApproveBody,
    response=ChangeRequest,
    metric="PartnerChangeApproved",
    tags=("partners",),
    errors=("CHANGE_NOT_FOUND", "ILLEGAL_TRANSITION", "CHANGE_OUTDATED", "CONFIG_INVALID", "STALE_WRITE"),
)
def handler(call: Call[ApproveBody]) -> ChangeRequest:
    return changes.approve_change(
        call.ports, call.principal, call.path["partnerId"], call.path["requestId"], call.body.note
    )
