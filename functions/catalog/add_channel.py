"""Add a channel (a platform that sells policies)."""

from petcover.api import Call, api, ops
from petcover.models.catalog import Channel, ChannelCreate
from petcover.services import catalog


@api(
    summary="Add a channel (a platform that sells policies)",
    auth=ops("sales"),
    body=ChannelCreate,
    response=Channel,
    status=201,
    idempotent=True,
    metric="ChannelAdded",
    tags=("catalogue",),
)
def handler(call: Call[ChannelCreate]) -> Channel:
    return catalog.add_channel(call.ports, call.principal, call.body)
