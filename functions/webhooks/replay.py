"""POST /ops/webhooks/{ref}/replay: send a stored event again (audited); ``ref`` is the event id.

(The level is shared with /ops/webhooks/{ref}/{objectId}/deliveries: one variable name per level.)
"""

from petcover.api import Call, api, ops
from petcover.models.webhooks import ReplayResult
from petcover.services.webhooks import requeue


@api(
    summary="Send a stored webhook event again, as attempt 1 of a new run; ref is the event id",
    auth=ops("ops", "service"),
    response=ReplayResult,
    status=202,
    metric="WebhookReplayed",
    tags=("webhooks",),
    errors=("WEBHOOK_EVENT_NOT_FOUND",),
)
def handler(call: Call) -> ReplayResult:
    return requeue.replay(call.ports, call.principal, call.path["ref"])
