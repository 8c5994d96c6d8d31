"""POST /ops/claims/{claimNumber}/assess: an assessor takes a submitted claim into assessment."""

from petcover.api import Call, api, ops
from petcover.models.claims import AssessRequest, Claim
from petcover.services.claims import review


@api(
    summary="Staff: take a submitted claim into assessment",
    auth=ops("underwriter"),
    body=AssessRequest,
    response=Claim,
    metric="ClaimAssessed",
    tags=("claims",),
    errors=("CLAIM_NOT_FOUND", "ILLEGAL_TRANSITION", "CLAIM_CHANGED"),
)
def handler(call: Call[AssessRequest]) -> Claim:
    return review.assess(call.ports, call.principal, call.path["claimNumber"], call.body)
