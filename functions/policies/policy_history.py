"""A policy's version history."""

from petcover.api import Call, api, channel
from petcover.models.policies import PolicyHistory
from petcover.services import policies


@api(
    summary="A policy's version history",
    auth=channel("query", product="policy"),
    response=PolicyHistory,
    metric="PolicyHistoryRead",
    tags=("policies",),
)
def handler(call: Call) -> PolicyHistory:
    return policies.history(call.ports, call.principal, call.path["number"])
