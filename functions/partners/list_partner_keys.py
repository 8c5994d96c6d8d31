"""GET /ops/partners/{partnerId}/keys: the partner's signing keys (ids and status, never secrets)."""

from petcover.api import Call, api, ops
from petcover.models.common import KeyInfoList
from petcover.services.partners import accounts


@api(
    summary="A partner's signing keys",
    auth=ops("ops"),
    response=KeyInfoList,
    metric="PartnerKeysListed",
    tags=("partners",),
    errors=("PARTNER_NOT_FOUND",),
)
def handler(call: Call) -> KeyInfoList:
    return KeyInfoList(items=accounts.list_keys(call.ports, call.path["partnerId"]))
