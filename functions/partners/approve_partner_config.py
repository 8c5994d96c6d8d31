"""POST /ops/partners/{partnerId}/config/approve: submitted -> active (a provider becomes dispatchable)."""

from petcover.api import Call, api, ops
from petcover.models.partners import ApproveBody, PartnerConfigView
from petcover.services.partners import config


@api(
    summary="Approve a partner's submitted configuration",
    auth=ops("ops"),
    body=ApproveBody,
    response=PartnerConfigView,
    metric="PartnerConfigApproved",
    tags=("partners",),
    errors=("PARTNER_NOT_FOUND", "CONFIG_NOT_FOUND", "ILLEGAL_TRANSITION", "CONFIG_INVALID", "STALE_WRITE"),
)
def handler(call: Call[ApproveBody]) -> PartnerConfigView:
    return config.approve_config(call.ports, call.principal, call.path["partnerId"], call.body.note)
