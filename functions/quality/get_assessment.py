"""GET /ops/quality/assessments/{month}: the month's assessment of every provider, inputs shown."""

from petcover.api import Call, api, ops
from petcover.models.quality import AssessQuery, MonthAssessment, MonthPath
from petcover.services.quality import assessment


@api(
    summary="A month's quality assessment: per provider the on-time rate per SLA node, breaches, exception and "
    "complaint rates, the average rating and its sample, the score and the grade",
    path=MonthPath,
    auth=ops("ops"),
    query=AssessQuery,
    response=MonthAssessment,
    metric="QualityAssessmentRead",
    tags=("quality",),
    errors=("ASSESSMENT_NOT_FOUND",),
)
def handler(call: Call) -> MonthAssessment:
    return assessment.read(call.ports, call.path["month"], call.query.provider_id)
