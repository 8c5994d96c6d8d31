"""PUT /partner/config: save the draft configuration (before the first approval, or after a rejection)."""

from petcover.api import Call, api, partner
from petcover.models.partners import ConfigInput, PartnerConfigView
from petcover.services.partners import config


@api(
    summary="Save my draft configuration",
    auth=partner(),
    body=ConfigInput,
    response=PartnerConfigView,
    metric="PartnerConfigSaved",
    tags=("partners",),
    errors=("CONFIG_INVALID", "ILLEGAL_TRANSITION", "PERMISSION_REQUIRED", "STALE_WRITE"),
)
def handler(call: Call[ConfigInput]) -> PartnerConfigView:
    return config.save_draft(call.ports, call.principal, call.body)
