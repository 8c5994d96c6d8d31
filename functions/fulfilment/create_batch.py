"""POST /appointment-batches: up to 1,000 bookings, one SQS message each, each booked on its own."""

from petcover.api import Call, api, channel
from petcover.models.fulfilment import BatchAccepted, BatchRequest
from petcover.services.fulfilment import batches


@api(
    summary="Book many appointments at once; per-item results at GET /appointment-batches/{batchId}",
    auth=channel("book", product="items"),
    body=BatchRequest,
    response=BatchAccepted,
    status=202,
    idempotent=True,
    metric="AppointmentBatchAccepted",
    tags=("fulfilment",),
)
def handler(call: Call[BatchRequest]) -> BatchAccepted:
    assert call.idempotency_key is not None  # idempotent=True makes the adapter require it
    return batches.create_batch(call.ports, call.principal, call.body, call.idempotency_key)
