"""Revoke a channel signing key."""

from petcover.api import Call, api, ops
from petcover.models.common import KeyInfo
from petcover.services import credentials


@api(
    summary="Revoke a channel signing key",
    auth=ops("sales"),
    response=KeyInfo,
    metric="ChannelKeyRevoked",
    tags=("catalogue",),
)
def handler(call: Call) -> KeyInfo:
    audited = (call.principal, "channel", "revoke_key")  # written with the revocation, in one transaction
    return credentials.revoke(call.ports, "channel", call.path["channelId"], call.path["keyId"], audited=audited)
