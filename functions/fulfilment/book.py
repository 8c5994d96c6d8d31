"""POST /policies/{number}/appointments: a pet owner books a service benefit (dispatch runs async)."""

from functools import partial

from petcover.api import Call, api, channel
from petcover.models.fulfilment import BookingRequest, BookingResponse
from petcover.services.fulfilment import booking


@api(
    summary="Book a service benefit of an active policy (quota held; answers with the appointment id)",
    auth=channel("book", product="policy"),
    body=BookingRequest,
    response=BookingResponse,
    status=201,
    idempotent="in_transaction",
    metric="AppointmentBooked",
    tags=("fulfilment",),
    errors=("DUPLICATE_BOOKING", "QUOTA_EXHAUSTED", "POLICY_NOT_ACTIVE", "BENEFIT_NOT_FOUND"),
)
def handler(call: Call[BookingRequest]) -> BookingResponse:
    assert call.once is not None  # the adapter requires an Idempotency-Key here
    record = partial(call.once.record, call.ports)
    return booking.book_appointment(call.ports, call.principal, call.path["number"], call.body, record)
