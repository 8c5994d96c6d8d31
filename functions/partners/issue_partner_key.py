"""POST /ops/partners/{partnerId}/keys: issue a signing key (the secret is shown once)."""

from petcover.api import Call, api, ops
from petcover.models.common import IssuedKey
from petcover.services.partners import accounts


@api(
    summary="Issue a signing key for a partner (secret shown once; two may be active)",
    auth=ops("ops"),
    response=IssuedKey,
    status=201,
    metric="PartnerKeyIssued",
    tags=("partners",),
    errors=("PARTNER_NOT_FOUND", "TOO_MANY_KEYS", "PARTNER_CLOSED"),
)
def handler(call: Call) -> IssuedKey:
    return accounts.issue_key(call.ports, call.principal, call.path["partnerId"])
