"""GET /ops/dispatch/rules: the rule set in effect, what is scheduled, and every version."""

from petcover.api import Call, api, ops
from petcover.models.dispatch import RulesOverview, VersionsQuery
from petcover.services.dispatch import rules


@api(
    summary="Dispatch rules: the version in effect, scheduled versions and the published versions, newest first",
    auth=ops("ops"),
    query=VersionsQuery,
    response=RulesOverview,
    metric="DispatchRulesListed",
    tags=("dispatch",),
)
def handler(call: Call) -> RulesOverview:
    q: VersionsQuery = call.query
    return rules.overview(call.ports, limit=q.limit, cursor=q.cursor)
