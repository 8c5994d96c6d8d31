"""POST /ops/quality/proposals/{proposalId}/decision: another staff member approves or rejects it."""

from petcover.api import Call, api, ops
from petcover.models.quality import DecideRequest, ShareProposal
from petcover.services.quality import steering


@api(
    summary="Approve (publish the dispatch rules and set core tiers) or reject a share proposal; the staff "
    "member who proposed it cannot decide it",
    auth=ops("ops"),
    body=DecideRequest,
    response=ShareProposal,
    metric="QualityProposalDecided",
    tags=("quality",),
    errors=("PROPOSAL_NOT_FOUND", "PROPOSAL_DECIDED", "SAME_STAFF_MEMBER", "RULES_CHANGED"),
)
def handler(call: Call[DecideRequest]) -> ShareProposal:
    return steering.decide(call.ports, call.principal, call.path["proposalId"], call.body)
