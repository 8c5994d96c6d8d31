"""GET /ops/quality/rules: the quality rules in force (weights, grade bands, minimum samples)."""

from petcover.api import Call, api, ops
from petcover.models.quality import QualityRulesVersion
from petcover.services.quality import assessment


@api(
    summary="The quality rules in force: weights, grade bands with their share multiplier and tier, minimum samples",
    auth=ops("ops"),
    response=QualityRulesVersion,
    metric="QualityRulesRead",
    tags=("quality",),
)
def handler(call: Call) -> QualityRulesVersion:
    return assessment.current_rules(call.ports)
