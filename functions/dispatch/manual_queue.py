"""GET /ops/dispatch/manual-queue: appointments nobody could take, waiting for ops (oldest first)."""

from petcover.api import Call, api, ops
from petcover.models.dispatch import ListQuery, ManualQueue
from petcover.services.dispatch import manual


@api(
    summary="The operations queue: appointments no provider could take, oldest first",
    auth=ops("ops"),
    query=ListQuery,
    response=ManualQueue,
    metric="DispatchManualQueueRead",
    tags=("dispatch",),
)
def handler(call: Call) -> ManualQueue:
    q: ListQuery = call.query
    return manual.manual_queue(call.ports, limit=q.limit, cursor=q.cursor)
