"""Audit records of one entity."""

from petcover.api import Call, api, ops
from petcover.models.common import AuditList
from petcover.services import audit


@api(
    summary="Audit records of one entity",
    auth=ops("underwriter", "sales", "finance", "service", "ops"),
    response=AuditList,
    metric="AuditRead",
    tags=("catalogue",),
)
def handler(call: Call) -> AuditList:
    return AuditList(items=audit.by_entity(call.ports, call.path["entityType"], call.path["entityId"]))
