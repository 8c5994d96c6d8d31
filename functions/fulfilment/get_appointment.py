"""GET /appointments/{appointmentId}: the channel's own appointment, with the owner's check-in code."""

from petcover.api import Call, api, channel
from petcover.models.fulfilment import Appointment
from petcover.services.fulfilment import views


@api(
    summary="An appointment of the calling channel",
    auth=channel("query", product="appointment"),
    response=Appointment,
    metric="AppointmentRead",
    tags=("fulfilment",),
)
def handler(call: Call) -> Appointment:
    return views.get_for_channel(call.ports, call.principal, call.path["appointmentId"])
