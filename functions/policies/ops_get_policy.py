"""Staff: any policy by number."""

from petcover.api import Call, api, ops
from petcover.models.policies import Policy
from petcover.services import policies


@api(
    summary="Staff: any policy by number",
    auth=ops("service", "finance", "underwriter"),
    response=Policy,
    metric="PolicyRead",
    tags=("policies",),
)
def handler(call: Call) -> Policy:
    return policies.get_for(call.ports, call.principal, call.path["number"])
