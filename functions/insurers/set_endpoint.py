"""PUT /ops/insurers/{partnerId}/endpoint: where and how we call an insurer's API, and our signing key."""

from petcover.api import Call, api, ops
from petcover.models.insurers import EndpointInput, EndpointSaved
from petcover.services.insurers import endpoints


@api(
    summary="Set an insurer's API endpoint (https), timeout and retries; the first save (or new_key) makes the "
    "key we sign our calls with, its secret shown once",
    auth=ops("ops"),
    body=EndpointInput,
    response=EndpointSaved,
    metric="InsurerEndpointSaved",
    tags=("insurers",),
    errors=("PARTNER_NOT_FOUND", "WRONG_PARTNER_KIND", "PARTNER_CLOSED", "UNSAFE_URL"),
)
def handler(call: Call[EndpointInput]) -> EndpointSaved:
    return endpoints.save(call.ports, call.principal, call.path["partnerId"], call.body)
