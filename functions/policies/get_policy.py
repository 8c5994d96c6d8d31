"""A policy of the calling channel, with benefit balances."""

from petcover.api import Call, api, channel
from petcover.models.policies import Policy
from petcover.services import policies


@api(
    summary="A policy of the calling channel, with benefit balances",
    auth=channel("query", product="policy"),
    response=Policy,
    metric="PolicyRead",
    tags=("policies",),
)
def handler(call: Call) -> Policy:
    return policies.get_for(call.ports, call.principal, call.path["number"])
