"""Underwrite and issue a policy."""

from petcover.api import Call, Reply, api, channel
from petcover.models.policies import Policy, UnderwriteRequest
from petcover.services import policies
from petcover.services.insurers.issuing import RETRY_AFTER_SECONDS


@api(
    summary="Underwrite and issue a policy",
    auth=channel("underwrite", product="body"),
    body=UnderwriteRequest,
    response=Policy,
    status=201,
    idempotent=True,
    metric="PolicyIssued",
    tags=("policies",),
    errors=("PLAN_NOT_FOUND",),  # Product.plan(), a method the code walk does not follow
    also=((202, "In progress: the insurer's answer is not known yet (status pending_insurer, Retry-After)."),),
)
def handler(call: Call[UnderwriteRequest]) -> Policy | Reply:
    """201 with the policy; 202 with ``Retry-After`` while its insurer's answer is not known
    (``status: pending_insurer``): read it again with GET /policies/{number}, or wait for the
    ``policy.issued`` / ``policy.failed`` webhook."""
    pol = policies.underwrite(call.ports, call.principal, call.body)
    if pol.status == "pending_insurer":
        return Reply(pol, 202, {"Retry-After": str(RETRY_AFTER_SECONDS)})
    return pol
