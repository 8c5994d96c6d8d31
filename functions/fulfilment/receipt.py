"""POST /appointments/{appointmentId}/receipt: the owner confirms receipt of a shipped service."""

from petcover.api import Call, api, channel
from petcover.models.fulfilment import Appointment
from petcover.services.fulfilment import closing


@api(
    summary="Confirm receipt of a shipped (online) service; the appointment becomes fulfilled",
    auth=channel("book", product="appointment"),
    response=Appointment,
    metric="AppointmentReceived",
    tags=("fulfilment",),
    errors=("ILLEGAL_TRANSITION", "WRONG_SERVICE_MODE", "ORDER_LOCKED"),
)
def handler(call: Call) -> Appointment:
    return closing.confirm_receipt(call.ports, call.principal, call.path["appointmentId"])
