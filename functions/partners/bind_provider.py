"""PUT /partner/bindings/{providerId}: an insurer binds a provider (service types and regions it buys)."""

from petcover.api import Call, api, partner
from petcover.models.partners import BindingInput, BindingSaved
from petcover.services.partners import bindings


@api(
    summary="Bind a provider and set the service types and regions bought from it",
    auth=partner(),
    body=BindingInput,
    response=BindingSaved,
    metric="PartnerBindingSaved",
    tags=("partners",),
    errors=("CONFIG_INVALID", "PERMISSION_REQUIRED", "REASON_REQUIRED", "CHANGE_PENDING", "ILLEGAL_TRANSITION"),
)
def handler(call: Call[BindingInput]) -> BindingSaved:
    return bindings.bind_provider(call.ports, call.principal, call.path["providerId"], call.body)
