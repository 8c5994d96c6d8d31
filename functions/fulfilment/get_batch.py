"""GET /appointment-batches/{batchId}: counters and per-item results (paginated), own batches only."""

from petcover.api import Call, api, channel
from petcover.models.fulfilment import BatchQuery, BatchStatus
from petcover.services.fulfilment import batches


@api(
    summary="A booking batch of the calling channel: counters and per-item results",
    auth=channel("query", product="items"),
    query=BatchQuery,
    response=BatchStatus,
    metric="AppointmentBatchRead",
    tags=("fulfilment",),
)
def handler(call: Call) -> BatchStatus:
    q: BatchQuery = call.query
    return batches.batch_status(call.ports, call.principal, call.path["batchId"], limit=q.limit, cursor=q.cursor)
