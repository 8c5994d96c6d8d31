"""POST /ops/partners/{partnerId}/config/reject: submitted -> rejected, with the reason."""

from petcover.api import Call, api, ops
from petcover.models.partners import PartnerConfigView, RejectBody
from petcover.services.partners import config


@api(
    summary="Reject a partner's submitted configuration (reason required)",
    auth=ops("ops"),
    body=RejectBody,
    response=PartnerConfigView,
    metric="PartnerConfigRejected",
    tags=("partners",),
    errors=("PARTNER_NOT_FOUND", "CONFIG_NOT_FOUND", "ILLEGAL_TRANSITION", "STALE_WRITE"),
)
def handler(call: Call[RejectBody]) -> PartnerConfigView:
    return config.reject_config(call.ports, call.principal, call.path["partnerId"], call.body.reason)
