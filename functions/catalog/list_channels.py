"""List channels."""

from petcover.api import Call, api, ops
from petcover.models.catalog import ChannelList
from petcover.services import channels


@api(
    summary="List channels",
    auth=ops("sales", "service", "finance"),
    response=ChannelList,
    metric="ChannelsListed",
    tags=("catalogue",),
)
def handler(call: Call) -> ChannelList:
    return ChannelList(items=channels.list_channels(call.ports))
