"""PUT /ops/dispatch/rules: validate and publish a new dispatch rule version."""

from petcover.api import Call, api, ops
from petcover.models.dispatch import RuleSetVersion, RulesPublish
from petcover.services.dispatch import rules


@api(
    summary="Publish a new version of the dispatch rules (shares of each region+service type must add up to "
    "100); it takes effect at effective_at and the previous version stays readable",
    auth=ops("ops"),
    body=RulesPublish,
    response=RuleSetVersion,
    status=201,
    metric="DispatchRulesPublished",
    tags=("dispatch",),
    errors=("DISPATCH_RULES_INVALID", "EFFECTIVE_AT_IN_PAST", "RULES_CHANGED"),
)
def handler(call: Call[RulesPublish]) -> RuleSetVersion:
    return rules.publish(call.ports, call.principal, call.body)
