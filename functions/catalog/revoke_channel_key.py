"""Revoke a channel signing key (the reason is a query parameter: a DELETE has no body)."""

from petcover.api import Call, api, ops
from petcover.models.common import KeyInfo, ReasonQuery
from petcover.services import audit, credentials


@api(
    summary="Revoke a channel signing key (reason required, as ?reason=)",
    auth=ops("sales"),
    query=ReasonQuery,
    response=KeyInfo,
    metric="ChannelKeyRevoked",
    tags=("catalogue",),
)
def handler(call: Call) -> KeyInfo:
    info = credentials.revoke(call.ports, "channel", call.path["channelId"], call.path["keyId"])
    audit.record(
        call.ports,
        call.principal,
        "channel",
        call.path["channelId"],
        "revoke_key",
        after={"key_id": info.key_id},
        reason=call.query.reason,
    )
    return info
