"""Renew a policy for a new term."""

from petcover.api import Call, api, channel
from petcover.models.policies import Policy, RenewRequest
from petcover.services import policies


@api(
    summary="Renew a policy for a new term",
    auth=channel("renew", product="policy"),
    body=RenewRequest,
    response=Policy,
    status=201,
    idempotent=True,
    metric="PolicyRenewed",
    tags=("policies",),
)
def handler(call: Call[RenewRequest]) -> Policy:
    return policies.renew(call.ports, call.principal, call.path["number"], call.body)
