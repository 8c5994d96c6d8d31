"""Issue a signing key for a channel (secret shown once; two may be active)."""

from petcover.api import Call, api, ops
from petcover.models.common import IssuedKey
from petcover.services import audit, catalog, credentials


@api(
    summary="Issue a signing key for a channel (secret shown once; two may be active)",
    auth=ops("sales"),
    response=IssuedKey,
    status=201,
    metric="ChannelKeyIssued",
    tags=("catalogue",),
)
def handler(call: Call) -> IssuedKey:
    catalog.get_channel(call.ports, call.path["channelId"])
    issued = credentials.issue(call.ports, "channel", call.path["channelId"])
    audit.record(
        call.ports,
        call.principal,
        "channel",
        call.path["channelId"],
        "issue_key",
        after={"key_id": issued.key_id},
    )
    return issued
