"""POST /ops/channels/{channelId}/clear-out: keys revoked, no new business, open policies listed and kept."""

from petcover.api import Call, api, ops
from petcover.models.catalog import ChannelClearedOut
from petcover.models.common import ReasonBody
from petcover.services import channel_clearing


@api(
    summary="Clear out a channel (reason required): its keys are revoked and its calls refused "
    "(CHANNEL_CLEARED); its open policies are listed in the answer and kept",
    auth=ops("sales"),
    body=ReasonBody,
    response=ChannelClearedOut,
    metric="ChannelClearedOut",
    tags=("catalogue",),
    errors=("CHANNEL_NOT_FOUND", "ILLEGAL_TRANSITION", "CHANNEL_CHANGED"),
)
def handler(call: Call[ReasonBody]) -> ChannelClearedOut:
    return channel_clearing.clear_out(call.ports, call.principal, call.path["channelId"], call.body.reason)
