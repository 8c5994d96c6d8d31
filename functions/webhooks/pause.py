"""POST /ops/channels/{channelId}/webhook/pause: hold deliveries to a channel (audited)."""

from petcover.api import Call, api, ops
from petcover.models.webhooks import EndpointStatus, PauseRequest
from petcover.services.webhooks import endpoints


@api(
    summary="Pause a channel's webhook endpoint; new events are held until resumed",
    auth=ops("ops", "service"),
    body=PauseRequest,
    response=EndpointStatus,
    metric="WebhookEndpointPaused",
    tags=("webhooks",),
    errors=("CHANNEL_NOT_FOUND", "ILLEGAL_TRANSITION"),
)
def handler(call: Call[PauseRequest]) -> EndpointStatus:
    return endpoints.pause(call.ports, call.principal, call.path["channelId"], call.body.reason)
