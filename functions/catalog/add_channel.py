"""Add a channel (a platform that sells policies); the answer shows its webhook secret once."""

from petcover.api import Call, api, ops
from petcover.models.catalog import ChannelCreate, ChannelCreated
from petcover.services import channels


@api(
    summary="Add a channel (a platform that sells policies); the answer shows its webhook secret once",
    auth=ops("sales"),
    body=ChannelCreate,
    response=ChannelCreated,
    status=201,
    idempotent=True,
    metric="ChannelAdded",
    tags=("catalogue",),
    errors=("CHANNEL_EXISTS", "UNSAFE_URL"),
)
def handler(call: Call[ChannelCreate]) -> ChannelCreated:
    return channels.add_channel(call.ports, call.principal, call.body)
