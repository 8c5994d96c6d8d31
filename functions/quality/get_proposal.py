"""GET /ops/quality/proposals/{proposalId}: a proposed share change, its reasons and its state."""

from petcover.api import Call, api, ops
from petcover.models.quality import ShareProposal
from petcover.services.quality import steering


@api(
    summary="A dispatch-share proposal made from an assessment: every share change with its reason, tiers, "
    "suspension review items, and who decided it",
    auth=ops("ops"),
    response=ShareProposal,
    metric="QualityProposalRead",
    tags=("quality",),
    errors=("PROPOSAL_NOT_FOUND",),
)
def handler(call: Call) -> ShareProposal:
    return steering.get(call.ports, call.path["proposalId"])
