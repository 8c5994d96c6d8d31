"""POST /appointments/{appointmentId}/cancel: cancel from pending, booking or booked (hold released)."""

from petcover.api import Call, api, channel
from petcover.models.fulfilment import Appointment, CancelAppointmentRequest
from petcover.services.fulfilment import closing


@api(
    summary="Cancel an appointment (not once service has started); the held quota is released",
    auth=channel("book", product="appointment"),
    body=CancelAppointmentRequest,
    response=Appointment,
    idempotent=True,
    metric="AppointmentCancelled",
    tags=("fulfilment",),
    errors=("ILLEGAL_TRANSITION", "ORDER_LOCKED"),
)
def handler(call: Call[CancelAppointmentRequest]) -> Appointment:
    return closing.cancel(call.ports, call.principal, call.path["appointmentId"], call.body.reason)
