"""POST /ops/booking-reviews/{appointmentId}/decision: approve (dispatch) or reject (cancel) a held booking."""

from petcover.api import Call, api, ops
from petcover.models.risk import BookingDecided, BookingDecision
from petcover.services.risk import booking_reviews


@api(
    summary="Staff: decide a booking held by risk control: approve sends it to dispatch, reject cancels it "
    "and releases its use",
    auth=ops("underwriter", "service"),
    body=BookingDecision,
    response=BookingDecided,
    metric="BookingReviewDecided",
    tags=("risk",),
    errors=("APPOINTMENT_NOT_FOUND", "ORDER_LOCKED", "APPOINTMENT_CHANGED", "LEASE_LOST"),
)
def handler(call: Call[BookingDecision]) -> BookingDecided:
    return booking_reviews.decide(call.ports, call.principal, call.path["appointmentId"], call.body)
