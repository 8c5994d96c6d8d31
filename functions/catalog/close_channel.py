"""Close a channel: its calls are refused, its policies stay readable by staff."""

from petcover.api import Call, api, ops
from petcover.models.catalog import Channel
from petcover.models.common import ReasonBody
from petcover.services import channels


@api(
    summary="Close a channel (reason required): its calls are refused, its policies stay readable by staff",
    auth=ops("sales"),
    body=ReasonBody,
    response=Channel,
    metric="ChannelClosed",
    tags=("catalogue",),
)
def handler(call: Call[ReasonBody]) -> Channel:
    return channels.set_channel_state(call.ports, call.principal, call.path["channelId"], "close", call.body.reason)
