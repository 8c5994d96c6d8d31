"""GET /ops/appointments/{appointmentId}/dispatch: why the appointment went where it went."""

from petcover.api import Call, api, ops
from petcover.models.dispatch import DispatchRecord
from petcover.services.dispatch import manual


@api(
    summary="Why did this appointment go to this provider: rule version, candidates with actual and target "
    "shares at that moment, the step that decided, and any manual reassignment",
    auth=ops("ops"),
    response=DispatchRecord,
    metric="DispatchExplained",
    tags=("dispatch",),
    errors=("DISPATCH_NOT_FOUND",),
)
def handler(call: Call) -> DispatchRecord:
    return manual.explain(call.ports, call.path["appointmentId"])
