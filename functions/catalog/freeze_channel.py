"""POST /ops/channels/{channelId}/freeze: the channel sells no new policies; servicing continues."""

from petcover.api import Call, api, ops
from petcover.models.catalog import Channel
from petcover.models.partners import StatusChange
from petcover.services import channels


@api(
    summary="Freeze a channel: underwrite and renew are refused (CHANNEL_FROZEN); queries, endorsements, "
    "cancellations, claims and bookings go on",
    auth=ops("sales"),
    body=StatusChange,
    response=Channel,
    metric="ChannelFrozen",
    tags=("catalogue",),
    errors=("CHANNEL_NOT_FOUND", "ILLEGAL_TRANSITION", "CHANNEL_CHANGED"),
)
def handler(call: Call[StatusChange]) -> Channel:
    return channels.set_channel_state(call.ports, call.principal, call.path["channelId"], "freeze", call.body.reason)
