"""Cancel (surrender) a policy with a refund of unearned premium."""

from petcover.api import Call, api, channel
from petcover.models.policies import CancelRequest, CancelResponse
from petcover.services import policies


@api(
    summary="Cancel (surrender) a policy with a refund of unearned premium",
    auth=channel("cancel", product="policy"),
    body=CancelRequest,
    response=CancelResponse,
    idempotent=True,
    metric="PolicyCancelled",
    tags=("policies",),
)
def handler(call: Call[CancelRequest]) -> CancelResponse:
    return policies.cancel(call.ports, call.principal, call.path["number"], call.body)
