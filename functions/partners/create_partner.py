"""POST /ops/partners: open a provider or insurer account after the offline agreement."""

from petcover.api import Call, api, ops
from petcover.models.partners import PartnerAccount, PartnerCreate
from petcover.services.partners import accounts


@api(
    summary="Create a provider or insurer account",
    auth=ops("ops"),
    body=PartnerCreate,
    response=PartnerAccount,
    status=201,
    idempotent=True,
    metric="PartnerCreated",
    tags=("partners",),
    errors=("PARTNER_NAME_TAKEN",),
)
def handler(call: Call[PartnerCreate]) -> PartnerAccount:
    return accounts.create_partner(call.ports, call.principal, call.body)
