"""Issue a signing key for a channel (secret shown once; two may be active)."""

from petcover.api import Call, api, ops
from petcover.models.common import IssuedKey
from petcover.services import channels, credentials


@api(
    summary="Issue a signing key for a channel (secret shown once; two may be active)",
    auth=ops("sales"),
    response=IssuedKey,
    status=201,
    metric="ChannelKeyIssued",
    tags=("catalogue",),
)
def handler(call: Call) -> IssuedKey:
    channels.get_channel(call.ports, call.path["channelId"])
    audited = (call.principal, "channel", "issue_key")  # written with the key, in one transaction
    return credentials.issue(call.ports, "channel", call.path["channelId"], audited=audited)
