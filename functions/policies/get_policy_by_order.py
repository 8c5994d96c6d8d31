"""The policy issued for the channel's own order id."""

from petcover.api import Call, api, channel
from petcover.models.policies import Policy
from petcover.services import policies


@api(
    summary="The policy issued for the channel's own order id",
    auth=channel("query", product="order"),
    response=Policy,
    metric="PolicyRead",
    tags=("policies",),
)
def handler(call: Call) -> Policy:
    found = policies.find_by_order(call.ports, call.principal.id, call.path["orderId"])
    assert found is not None
    return found
