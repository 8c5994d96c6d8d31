"""POST /ops/partners/{partnerId}/suspend: ops suspend a partner account, with a reason (audited)."""

from petcover.api import Call, api, ops
from petcover.models.partners import PartnerStatus, StatusChange
from petcover.services.partners import status


@api(
    summary="Suspend a partner account: a provider gets no new orders and its calls are refused; "
    "lists the orders it holds for reassignment",
    auth=ops("ops"),
    body=StatusChange,
    response=PartnerStatus,
    metric="PartnerSuspended",
    tags=("partners",),
    errors=("PARTNER_NOT_FOUND", "ILLEGAL_TRANSITION", "PARTNER_CHANGED"),
)
def handler(call: Call[StatusChange]) -> PartnerStatus:
    return status.change_status(call.ports, call.principal, call.path["partnerId"], "suspend", call.body)
