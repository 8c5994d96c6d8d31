"""GET /ops/claims/{claimNumber}: any claim, with its change records."""

from petcover.api import Call, api, ops
from petcover.models.claims import ClaimDetail
from petcover.services.claims import lookups


@api(
    summary="Staff: any claim by number, with its change records",
    auth=ops("service", "underwriter", "finance"),
    response=ClaimDetail,
    metric="ClaimRead",
    tags=("claims",),
    errors=("CLAIM_NOT_FOUND",),
)
def handler(call: Call) -> ClaimDetail:
    return lookups.detail(call.ports, call.principal, call.path["claimNumber"])
