"""PUT /ops/risk/rules: publish the next version of the risk rule set (enforced everywhere within seconds)."""

from petcover.api import Call, api, ops
from petcover.models.risk import RuleSetPublish, RuleSetView
from petcover.services.risk import rules


@api(
    summary="Staff: publish the next version of the risk rule set (version = the one in force + 1; a rule in "
    "shadow mode is recorded, not enforced)",
    auth=ops("underwriter"),
    body=RuleSetPublish,
    response=RuleSetView,
    metric="RiskRulesPublished",
    tags=("risk",),
)
def handler(call: Call[RuleSetPublish]) -> RuleSetView:
    return rules.publish(call.ports, call.principal, call.body)
