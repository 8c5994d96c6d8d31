"""GET /ops/booking-reviews: bookings risk control held for a staff decision, oldest first."""

from petcover.api import Call, api, ops
from petcover.models.risk import BookingReviewQuery, BookingReviewQueue
from petcover.services.risk import booking_reviews


@api(
    summary="Staff: bookings held by risk control, waiting for a decision, each with the rules that fired",
    auth=ops("underwriter", "service"),
    query=BookingReviewQuery,
    response=BookingReviewQueue,
    metric="BookingReviewQueueRead",
    tags=("risk",),
)
def handler(call: Call) -> BookingReviewQueue:
    q: BookingReviewQuery = call.query
    return booking_reviews.queue(call.ports, limit=q.limit, cursor=q.cursor)
