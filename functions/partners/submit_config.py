"""POST /partner/config/submit: submit the configuration for review."""

from petcover.api import Call, api, partner
from petcover.models.partners import PartnerConfigView
from petcover.services.partners import config


@api(
    summary="Submit my configuration for review",
    auth=partner(),
    response=PartnerConfigView,
    metric="PartnerConfigSubmitted",
    tags=("partners",),
    errors=("CONFIG_NOT_FOUND", "CONFIG_INVALID", "ILLEGAL_TRANSITION", "STALE_WRITE"),
)
def handler(call: Call) -> PartnerConfigView:
    return config.submit(call.ports, call.principal)
