"""Revoke a channel signing key."""

from petcover.api import Call, api, ops
from petcover.models.common import KeyInfo
from petcover.services import audit, credentials


@api(
    summary="Revoke a channel signing key",
    auth=ops("sales"),
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
    )
    return info
