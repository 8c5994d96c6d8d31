"""POST /ops/appointments/{appointmentId}/assign: ops assign an appointment to a provider by hand."""

from petcover.api import Call, api, ops
from petcover.models.dispatch import DispatchRecord, ManualAssignRequest
from petcover.services.dispatch import manual


@api(
    summary="Assign an appointment by hand (from the operations queue, or away from the chosen provider); "
    "audited, and recorded as step manual_override",
    auth=ops("ops"),
    body=ManualAssignRequest,
    response=DispatchRecord,
    metric="DispatchManuallyAssigned",
    tags=("dispatch",),
    errors=(
        "DISPATCH_NOT_FOUND",
        "DISPATCH_IN_PROGRESS",
        "ALREADY_ASSIGNED",
        "PROVIDER_NOT_ACTIVE",
        "PROVIDER_CANNOT_SERVE",
        "PROVIDER_DECLINED",
        "STALE_WRITE",
    ),
)
def handler(call: Call[ManualAssignRequest]) -> DispatchRecord:
    return manual.manual_assign(call.ports, call.principal, call.path["appointmentId"], call.body)
