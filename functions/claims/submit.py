"""POST /policies/{number}/claims: a channel applies for a claim; answers at once with the claim number."""

from petcover.api import Call, api, channel
from petcover.models.claims import Claim, ClaimCreate
from petcover.services.claims import submission


@api(
    summary="Apply for a claim on a policy of the calling channel",
    auth=channel("claim", product="policy"),
    body=ClaimCreate,
    response=Claim,
    status=201,
    idempotent=True,
    metric="ClaimSubmitted",
    tags=("claims",),
    errors=("POLICY_NOT_FOUND", "CLAIM_REF_REUSED", "BENEFIT_REQUIRED", "BENEFIT_NOT_CLAIMABLE"),
)
def handler(call: Call[ClaimCreate]) -> Claim:
    return submission.submit(call.ports, call.principal, call.path["number"], call.body)
