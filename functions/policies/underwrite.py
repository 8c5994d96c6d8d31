"""Underwrite and issue a policy."""

from petcover.api import Call, api, channel
from petcover.models.policies import Policy, UnderwriteRequest
from petcover.services import policies


@api(
    summary="Underwrite and issue a policy",
    auth=channel("underwrite", product="body"),
    body=UnderwriteRequest,
    response=Policy,
    status=201,
    idempotent=True,
    metric="PolicyIssued",
    tags=("policies",),
)
def handler(call: Call[UnderwriteRequest]) -> Policy:
    return policies.underwrite(call.ports, call.principal, call.body)
