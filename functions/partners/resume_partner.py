"""POST /ops/partners/{partnerId}/resume: ops resume a partner account, with a reason (audited)."""

from petcover.api import Call, api, ops
from petcover.models.partners import PartnerStatus, StatusChange
from petcover.services.partners import status


@api(
    summary="Resume a suspended partner account: a provider is a dispatch candidate again",
    auth=ops("ops"),
    body=StatusChange,
    response=PartnerStatus,
    metric="PartnerResumed",
    tags=("partners",),
    errors=("PARTNER_NOT_FOUND", "ILLEGAL_TRANSITION", "PARTNER_CHANGED"),
)
def handler(call: Call[StatusChange]) -> PartnerStatus:
    return status.change_status(call.ports, call.principal, call.path["partnerId"], "resume", call.body)
