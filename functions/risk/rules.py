"""GET /ops/risk/rules: the risk rule set in force, its version and who published it."""

from petcover.api import Call, api, ops
from petcover.models.risk import RuleSetView
from petcover.services.risk import rules


@api(
    summary="Staff: the risk rule set in force (version 0: nothing published, every check passes)",
    auth=ops("underwriter", "service", "ops"),
    response=RuleSetView,
    metric="RiskRulesRead",
    tags=("risk",),
)
def handler(call: Call) -> RuleSetView:
    return rules.view(call.ports)
