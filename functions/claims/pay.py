"""POST /ops/claims/{claimNumber}/pay: finance pays an approved claim (lowers the remaining sum insured)."""

from petcover.api import Call, api, ops
from petcover.models.claims import Claim, PayRequest
from petcover.services.claims import payouts


@api(
    summary="Staff: mark an approved claim paid; the policy's remaining sum insured goes down",
    auth=ops("finance"),
    body=PayRequest,
    response=Claim,
    idempotent=True,
    metric="ClaimPaid",
    tags=("claims",),
    errors=("CLAIM_NOT_FOUND", "ILLEGAL_TRANSITION", "CLAIM_CHANGED", "SUM_INSURED_EXCEEDED", "POLICY_NOT_ACTIVE"),
)
def handler(call: Call[PayRequest]) -> Claim:
    return payouts.pay(call.ports, call.principal, call.path["claimNumber"], call.body)
