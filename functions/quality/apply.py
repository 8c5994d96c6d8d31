"""POST /ops/quality/assessments/{month}/apply: propose dispatch shares from a month's assessment."""

from petcover.api import Call, api, ops
from petcover.models.quality import ApplyRequest, MonthPath, ShareProposal
from petcover.services.quality import steering


@api(
    summary="Propose the next dispatch-rules version from a month's assessment: shares move by grade within "
    "the bound and add up to 100, with the reason per provider; another staff member must approve it",
    path=MonthPath,
    auth=ops("ops"),
    body=ApplyRequest,
    response=ShareProposal,
    status=201,
    idempotent=True,
    metric="QualityProposalMade",
    tags=("quality",),
    errors=("ASSESSMENT_NOT_FOUND", "NO_DISPATCH_RULES"),
)
def handler(call: Call[ApplyRequest]) -> ShareProposal:
    return steering.apply(call.ports, call.principal, call.path["month"], call.body)
