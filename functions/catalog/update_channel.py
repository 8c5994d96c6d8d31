"""Update a channel (name, callback URL, rate limit)."""

from petcover.api import Call, api, ops
from petcover.models.catalog import Channel, ChannelUpdate
from petcover.services import channels


@api(
    summary="Update a channel (name, callback URL, rate limit)",
    auth=ops("sales"),
    body=ChannelUpdate,
    response=Channel,
    metric="ChannelUpdated",
    tags=("catalogue",),
)
def handler(call: Call[ChannelUpdate]) -> Channel:
    return channels.update_channel(call.ports, call.principal, call.path["channelId"], call.body)
