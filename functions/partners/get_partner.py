"""GET /ops/partners/{partnerId}: the account, its configuration and any pending change request."""

from petcover.api import Call, api, ops
from petcover.models.partners import PartnerDetail
from petcover.services.partners import overview


@api(
    summary="A partner's account, configuration and pending change",
    auth=ops("ops"),
    response=PartnerDetail,
    metric="PartnerRead",
    tags=("partners",),
    errors=("PARTNER_NOT_FOUND",),
)
def handler(call: Call) -> PartnerDetail:
    return overview.detail(call.ports, call.path["partnerId"])
