"""Price a plan for an insured under the channel's contract."""

from petcover.api import Call, api, channel
from petcover.models.policies import QuoteRequest, QuoteResponse
from petcover.services import policies


@api(
    summary="Price a plan for an insured under the channel's contract",
    auth=channel("quote", product="body"),
    body=QuoteRequest,
    response=QuoteResponse,
    metric="QuoteGiven",
    tags=("policies",),
    errors=("PLAN_NOT_FOUND",),  # Product.plan(), a method the code walk does not follow
)
def handler(call: Call[QuoteRequest]) -> QuoteResponse:
    return policies.quote(call.ports, call.principal, call.body)
