"""POST /ops/webhooks/dead-letters/redrive: put every dead event back on the queue (audited)."""

from petcover.api import Call, api, ops
from petcover.models.webhooks import RequeueResult
from petcover.services.webhooks import dead_letters


@api(
    summary="Re-send every webhook dead letter (a fresh retry window each)",
    auth=ops("ops", "service"),
    response=RequeueResult,
    status=202,
    metric="WebhookDeadLettersRedriven",
    tags=("webhooks",),
)
def handler(call: Call) -> RequeueResult:
    return dead_letters.redrive(call.ports, call.principal)
