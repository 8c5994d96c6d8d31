"""Change the plan of a policy (premium difference pro rata)."""

from petcover.api import Call, api, channel
from petcover.models.policies import EndorseRequest, EndorseResponse
from petcover.services import policies


@api(
    summary="Change the plan of a policy (premium difference pro rata)",
    auth=channel("endorse", product="policy"),
    body=EndorseRequest,
    response=EndorseResponse,
    idempotent=True,
    metric="PolicyEndorsed",
    tags=("policies",),
    errors=("PLAN_NOT_FOUND",),  # Product.plan(), a method the code walk does not follow
)
def handler(call: Call[EndorseRequest]) -> EndorseResponse:
    return policies.endorse(call.ports, call.principal, call.path["number"], call.body)
