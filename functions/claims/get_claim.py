"""GET /claims/{claimNumber}: a claim of the calling channel."""

from petcover.api import Call, api, channel
from petcover.models.claims import Claim
from petcover.services.claims import lookups


@api(
    summary="A claim of the calling channel",
    auth=channel("query", product="claim"),
    response=Claim,
    metric="ClaimRead",
    tags=("claims",),
    errors=("CLAIM_NOT_FOUND",),
)
def handler(call: Call) -> Claim:
    return lookups.get(call.ports, call.principal, call.path["claimNumber"])
