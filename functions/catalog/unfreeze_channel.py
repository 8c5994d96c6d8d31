"""POST /ops/channels/{channelId}/unfreeze: the channel sells again."""

from petcover.api import Call, api, ops
from petcover.models.catalog import Channel
from petcover.models.partners import StatusChange
from petcover.services import channels


@api(
    summary="Unfreeze a channel: it sells new policies again",
    auth=ops("sales"),
    body=StatusChange,
    response=Channel,
    metric="ChannelUnfrozen",
    tags=("catalogue",),
    errors=("CHANNEL_NOT_FOUND", "ILLEGAL_TRANSITION", "CHANNEL_CHANGED"),
)
def handler(call: Call[StatusChange]) -> Channel:
    return channels.set_channel_state(call.ports, call.principal, call.path["channelId"], "unfreeze", call.body.reason)
