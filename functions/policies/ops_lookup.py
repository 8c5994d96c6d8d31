"""Staff: find policies by number, by the channel's order id or by insured."""

from petcover.api import Call, api, ops
from petcover.errors import InvalidInput
from petcover.models.policies import LookupQuery, PolicyList
from petcover.services import policies


@api(
    summary="Staff: find policies by number, by channel order id or by insured",
    auth=ops("service", "finance", "underwriter"),
    query=LookupQuery,
    response=PolicyList,
    metric="PolicyLookedUp",
    tags=("policies",),
)
def handler(call: Call) -> PolicyList:
    q: LookupQuery = call.query
    if q.number:
        return PolicyList(items=policies.find_by_number(call.ports, q.number))
    if q.channel_id and q.channel_order_id:
        found = policies.find_by_order(call.ports, q.channel_id, q.channel_order_id, missing_ok=True)
        return PolicyList(items=[found] if found else [])
    if q.insured_id:
        return PolicyList(items=policies.find_by_insured(call.ports, q.insured_id))
    raise InvalidInput("Give number, channel_id with channel_order_id, or insured_id.", code="LOOKUP_KEY_REQUIRED")
