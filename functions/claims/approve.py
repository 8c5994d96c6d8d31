"""POST /ops/claims/{claimNumber}/approve: an assessor approves an amount."""

from petcover.api import Call, api, ops
from petcover.models.claims import ApproveRequest, Claim
from petcover.services.claims import review


@api(
    summary="Staff: approve a claim under assessment with an amount",
    auth=ops("underwriter"),
    body=ApproveRequest,
    response=Claim,
    metric="ClaimApproved",
    tags=("claims",),
    errors=(
        "CLAIM_NOT_FOUND",
        "ILLEGAL_TRANSITION",
        "CLAIM_CHANGED",
        "AMOUNT_ABOVE_CLAIMED",
        "AMOUNT_ABOVE_LIMIT",
        "SUM_INSURED_EXCEEDED",
        "POLICY_NOT_ACTIVE",
    ),
)
def handler(call: Call[ApproveRequest]) -> Claim:
    return review.approve(call.ports, call.principal, call.path["claimNumber"], call.body)
