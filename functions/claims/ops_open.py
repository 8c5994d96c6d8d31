"""POST /ops/policies/{number}/claims: service staff open a claim for a customer who phoned."""

from petcover.api import Call, api, ops
from petcover.models.claims import Claim, OpsClaimCreate
from petcover.services.claims import submission


@api(
    summary="Staff: open a claim for a customer who phoned (identity checked)",
    auth=ops("service"),
    body=OpsClaimCreate,
    response=Claim,
    status=201,
    idempotent=True,
    metric="ClaimOpened",
    tags=("claims",),
    errors=("POLICY_NOT_FOUND", "IDENTITY_NOT_VERIFIED", "CLAIM_REF_REUSED"),
)
def handler(call: Call[OpsClaimCreate]) -> Claim:
    return submission.open_for_customer(call.ports, call.principal, call.path["number"], call.body)
