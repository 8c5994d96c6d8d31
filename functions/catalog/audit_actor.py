"""Audit records of one actor (e.g. ops:alice)."""

from petcover.api import Call, api, ops
from petcover.models.common import AuditList
from petcover.services import audit


@api(
    summary="Audit records of one actor (e.g. ops:alice)",
    auth=ops("admin"),
    response=AuditList,
    metric="AuditRead",
    tags=("catalogue",),
)
def handler(call: Call) -> AuditList:
    return AuditList(items=audit.by_actor(call.ports, call.path["actor"]))
