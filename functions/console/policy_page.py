"""GET /ops/policies/{number}/page: everything the console shows on a policy's page."""

from petcover.api import Call, api, ops
from petcover.models.policy_page import PolicyPage
from petcover.services import policy_page


@api(
    summary="A policy's page: the policy with quota balances, versions, ledger lines, appointments, claims "
    "and the webhooks sent about them",
    auth=ops("service", "finance", "underwriter", "ops"),
    response=PolicyPage,
    metric="PolicyPageRead",
    tags=("console",),
    errors=("POLICY_NOT_FOUND",),
)
def handler(call: Call) -> PolicyPage:
    return policy_page.policy_page(call.ports, call.path["number"])
