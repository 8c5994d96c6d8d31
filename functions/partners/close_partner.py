"""POST /ops/partners/{partnerId}/close: ops close a partner account, with a reason (audited)."""

from petcover.api import Call, api, ops
from petcover.models.partners import PartnerStatus, StatusChange
from petcover.services.partners import status


@api(
    summary="Close a partner account for good: its calls are refused; lists the orders it holds for reassignment",
    auth=ops("ops"),
    body=StatusChange,
    response=PartnerStatus,
    metric="PartnerClosed",
    tags=("partners",),
    errors=("PARTNER_NOT_FOUND", "ILLEGAL_TRANSITION", "PARTNER_CHANGED"),
)
def handler(call: Call[StatusChange]) -> PartnerStatus:
    return status.change_status(call.ports, call.principal, call.path["partnerId"], "close", call.body)
