"""DELETE /ops/partners/{partnerId}/keys/{keyId}?reason=: revoke a signing key."""

from petcover.api import Call, api, ops
from petcover.models.common import KeyInfo, ReasonQuery
from petcover.services.partners import accounts


@api(
    summary="Revoke a partner's signing key (reason required, as ?reason=)",
    auth=ops("ops"),
    query=ReasonQuery,
    response=KeyInfo,
    metric="PartnerKeyRevoked",
    tags=("partners",),
    errors=("PARTNER_NOT_FOUND", "KEY_NOT_FOUND"),
)
def handler(call: Call) -> KeyInfo:
    return accounts.revoke_key(
        call.ports, call.principal, call.path["partnerId"], call.path["keyId"], reason=call.query.reason
    )
