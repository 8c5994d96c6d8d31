"""POST /ops/channels/{channelId}/webhook/resume: deliver again and re-send held events (audited)."""

from petcover.api import Call, api, ops
from petcover.models.webhooks import EndpointStatus
from petcover.services.webhooks import endpoints


@api(
    summary="Resume a paused webhook endpoint; held events go back on the queue",
    auth=ops("ops", "service"),
    response=EndpointStatus,
    metric="WebhookEndpointResumed",
    tags=("webhooks",),
    errors=("ILLEGAL_TRANSITION",),
)
def handler(call: Call) -> EndpointStatus:
    return endpoints.resume(call.ports, call.principal, call.path["channelId"])
