"""GET /policies/{number}/claims: claims of a policy of the calling channel, newest first."""

from petcover.api import Call, api, channel
from petcover.models.claims import ClaimList, ClaimListQuery
from petcover.services.claims import lookups


@api(
    summary="Claims of a policy of the calling channel, newest first",
    auth=channel("query", product="policy"),
    query=ClaimListQuery,
    response=ClaimList,
    metric="ClaimsListed",
    tags=("claims",),
    errors=("POLICY_NOT_FOUND",),
)
def handler(call: Call) -> ClaimList:
    q: ClaimListQuery = call.query
    return lookups.list_for_policy(call.ports, call.principal, call.path["number"], limit=q.limit, cursor=q.cursor)
