"""GET /partner/me: the calling partner's account, configuration and pending change."""

from petcover.api import Call, api, partner
from petcover.models.partners import PartnerDetail
from petcover.services.partners import overview


@api(
    summary="My account, configuration and pending change request",
    auth=partner(),
    response=PartnerDetail,
    metric="PartnerSelfRead",
    tags=("partners",),
)
def handler(call: Call) -> PartnerDetail:
    return overview.me(call.ports, call.principal)
