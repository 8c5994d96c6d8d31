"""POST /ops/claims/{claimNumber}/reject: an assessor rejects a claim with a reason."""

from petcover.api import Call, api, ops
from petcover.models.claims import Claim, RejectRequest
from petcover.services.claims import review


@api(
    summary="Staff: reject a claim under assessment with a reason",
    auth=ops("underwriter"),
    body=RejectRequest,
    response=Claim,
    metric="ClaimRejected",
    tags=("claims",),
    errors=("CLAIM_NOT_FOUND", "ILLEGAL_TRANSITION", "CLAIM_CHANGED"),
)
def handler(call: Call[RejectRequest]) -> Claim:
    return review.reject(call.ports, call.principal, call.path["claimNumber"], call.body)
