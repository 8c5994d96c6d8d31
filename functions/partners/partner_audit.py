"""GET /ops/audit?partner_id=|partner_name=|request_id=: the onboarding audit trail."""

from petcover.api import Call, api, ops
from petcover.models.common import AuditList
from petcover.models.partners import AuditQuery
from petcover.services.partners import overview


@api(
    summary="Partner audit trail by partner id, partner name or request id",
    auth=ops("ops"),
    query=AuditQuery,
    response=AuditList,
    metric="PartnerAuditRead",
    tags=("partners",),
    errors=("PARTNER_NOT_FOUND",),
)
def handler(call: Call) -> AuditList:
    return AuditList(items=overview.audit_trail(call.ports, call.query))
