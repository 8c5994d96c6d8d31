"""POST /ops/channels/{channelId}/webhook/secret/rotate: a new webhook secret, shown once.

The current secret keeps signing beside the new one for ``overlap_hours`` (each webhook then
carries both signatures), so the channel can switch without losing a delivery.
"""

from petcover.api import Call, api, ops
from petcover.models.catalog import WebhookSecretRotate, WebhookSecretRotated
from petcover.services import channels


@api(
    summary="Rotate a channel's webhook secret: the new one is shown once, the old one signs beside it for the overlap",
    auth=ops("sales", "ops"),
    body=WebhookSecretRotate,
    response=WebhookSecretRotated,
    metric="WebhookSecretRotated",
    tags=("catalogue", "webhooks"),
    errors=("CHANNEL_NOT_FOUND", "CHANNEL_CLOSED", "CHANNEL_CHANGED"),
)
def handler(call: Call[WebhookSecretRotate]) -> WebhookSecretRotated:
    return channels.rotate_webhook_secret(call.ports, call.principal, call.path["channelId"], call.body)
