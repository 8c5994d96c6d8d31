"""GET /ops/partners/{partnerId}/changes: change requests with their field-by-field diff."""

from petcover.api import Call, api, ops
from petcover.models.partners import ChangeQuery, ChangeRequestList
from petcover.services.partners import changes


@api(
    summary="A partner's change requests (newest first), each with its diff",
    auth=ops("ops"),
    query=ChangeQuery,
    response=ChangeRequestList,
    metric="PartnerChangesListed",
    tags=("partners",),
    errors=("PARTNER_NOT_FOUND",),
)
def handler(call: Call) -> ChangeRequestList:
    items = changes.list_changes(call.ports, call.path["partnerId"], call.query.state)
    return ChangeRequestList(items=items)
