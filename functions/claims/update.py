"""PATCH /claims/{claimNumber}: change an unfinished claim; it is assessed again."""

from petcover.api import Call, api, channel
from petcover.models.claims import Claim, ClaimUpdate
from petcover.services.claims import updates


@api(
    summary="Change an unfinished claim (e.g. a wrong return tracking number); it is assessed again",
    auth=channel("claim", product="claim"),
    body=ClaimUpdate,
    response=Claim,
    idempotent=True,
    metric="ClaimUpdated",
    tags=("claims",),
    errors=("CLAIM_NOT_FOUND", "ILLEGAL_TRANSITION", "CLAIM_CHANGED", "NOTHING_TO_CHANGE"),
)
def handler(call: Call[ClaimUpdate]) -> Claim:
    return updates.update(call.ports, call.principal, call.path["claimNumber"], call.body)
