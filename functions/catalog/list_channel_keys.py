"""List a channel's signing keys (never the secrets)."""

from petcover.api import Call, api, ops
from petcover.models.common import KeyInfoList
from petcover.services import credentials


@api(
    summary="List a channel's signing keys (never the secrets)",
    auth=ops("sales"),
    response=KeyInfoList,
    metric="ChannelKeysListed",
    tags=("catalogue",),
)
def handler(call: Call) -> KeyInfoList:
    return KeyInfoList(items=credentials.list_keys(call.ports, "channel", call.path["channelId"]))
