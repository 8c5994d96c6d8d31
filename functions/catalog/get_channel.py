"""A channel, with its webhook endpoint's state."""

from petcover.api import Call, api, ops
from petcover.models.catalog import Channel
from petcover.services import channels


@api(
    summary="A channel",
    auth=ops("sales", "service", "finance"),
    response=Channel,
    metric="ChannelRead",
    tags=("catalogue",),
)
def handler(call: Call) -> Channel:
    return channels.read_channel(call.ports, call.path["channelId"])
