"""Revoke a channel signing key (the reason is a query parameter: a DELETE has no body)."""

from petcover.api import Call, api, ops
from petcover.models.common import KeyInfo, ReasonQuery
from petcover.services import credentials


@api(
    summary="Revoke a channel signing key (reason required, as ?reason=)",
    auth=ops("sales"),
    query=ReasonQuery,
    response=KeyInfo,
    metric="ChannelKeyRevoked",
    tags=("catalogue",),
)
def handler(call: Call) -> KeyInfo:
    audited = (call.principal, "channel", "revoke_key")  # written with the revocation, in one transaction
    channel, key = call.path["channelId"], call.path["keyId"]
    return credentials.revoke(call.ports, "channel", channel, key, audited=audited, reason=call.query.reason)
