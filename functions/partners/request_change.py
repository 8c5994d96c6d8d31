"""POST /partner/changes: request a change to the active configuration (with a reason)."""

from petcover.api import Call, api, partner
from petcover.models.partners import ChangeRequest, ChangeRequestCreate
from petcover.services.partners import changes


@api(
    summary="Request a change to my active configuration",
    auth=partner(),
    body=ChangeRequestCreate,
    response=ChangeRequest,
    status=201,
    idempotent=True,
    metric="PartnerChangeRequested",
    tags=("partners",),
    errors=("CONFIG_NOT_FOUND", "CONFIG_INVALID", "CHANGE_PENDING", "NO_CHANGES", "ILLEGAL_TRANSITION"),
)
def handler(call: Call[ChangeRequestCreate]) -> ChangeRequest:
    return changes.request_change(call.ports, call.principal, call.body.config, call.body.reason)
