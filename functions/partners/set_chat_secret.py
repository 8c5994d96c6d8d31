"""PUT /partner/chat-secrets: the DingTalk robot secret of one of my alert contacts (write-only)."""

from petcover.api import Call, api, partner
from petcover.models.partners import ChatSecretInput, ChatSecretSaved
from petcover.services.partners import chat_secrets


@api(
    summary="Set (or with secret null remove) the DingTalk robot secret of one of my contacts' robot URL; "
    "never shown again, alerts to the robot are then signed",
    auth=partner(),
    body=ChatSecretInput,
    response=ChatSecretSaved,
    metric="PartnerChatSecretSaved",
    tags=("partners",),
    errors=("CONTACT_NOT_FOUND", "VALIDATION_FAILED", "WRONG_PARTNER_KIND", "PARTNER_INACTIVE"),
)
def handler(call: Call[ChatSecretInput]) -> ChatSecretSaved:
    return chat_secrets.save(call.ports, call.principal, call.body)
