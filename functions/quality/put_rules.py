"""PUT /ops/quality/rules: save a new version of the quality rules."""

from petcover.api import Call, api, ops
from petcover.models.quality import QualityRulesPut, QualityRulesVersion
from petcover.services.quality import assessment


@api(
    summary="Save a new version of the quality rules (weights add up to 100; multipliers within 0.8-1.2)",
    auth=ops("ops"),
    body=QualityRulesPut,
    response=QualityRulesVersion,
    status=201,
    metric="QualityRulesSaved",
    tags=("quality",),
    errors=("QUALITY_RULES_CHANGED",),
)
def handler(call: Call[QualityRulesPut]) -> QualityRulesVersion:
    return assessment.save_rules(call.ports, call.principal, call.body)
