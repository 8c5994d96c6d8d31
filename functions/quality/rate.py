"""POST /appointments/{appointmentId}/rating: the pet owner's rating of a fulfilled appointment."""

from petcover.api import Call, api, channel
from petcover.models.quality import Rating, RatingRequest
from petcover.services.quality import feedback


@api(
    summary="Submit the pet owner's rating of a fulfilled appointment (1-5, tags, a comment); once per appointment",
    auth=channel("book", product="appointment"),
    body=RatingRequest,
    response=Rating,
    status=201,
    idempotent=True,
    metric="AppointmentRated",
    tags=("quality",),
    errors=("APPOINTMENT_NOT_FOUND", "NOT_YET_FULFILLED", "ALREADY_RATED"),
)
def handler(call: Call[RatingRequest]) -> Rating:
    return feedback.rate(call.ports, call.principal, call.path["appointmentId"], call.body)
