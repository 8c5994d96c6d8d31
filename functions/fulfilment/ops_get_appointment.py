"""GET /ops/appointments/{appointmentId}: staff view (decision, deduction, lock, timeline)."""

from petcover.api import Call, api, ops
from petcover.models.fulfilment import StaffAppointment
from petcover.services.fulfilment import views


@api(
    summary="Any appointment with its dispatch decision, quota deduction, lock and timeline",
    auth=ops("ops", "service"),
    response=StaffAppointment,
    metric="OpsAppointmentRead",
    tags=("fulfilment", "ops"),
)
def handler(call: Call) -> StaffAppointment:
    return views.get_for_staff(call.ports, call.path["appointmentId"])
