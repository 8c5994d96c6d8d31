"""POST /ops/quota/redrive: move quota deductions from QuotaDLQ back to QuotaQueue (audited)."""

from petcover import runtime
from petcover.api import Call, api, ops
from petcover.models.fulfilment import RedriveResult
from petcover.services import quota


@api(
    summary="Re-run failed quota deductions: QuotaDLQ back to QuotaQueue (deduction is idempotent)",
    auth=ops("ops"),
    response=RedriveResult,
    status=202,
    metric="QuotaDeductionsRedriven",
    tags=("fulfilment", "ops"),
)
def handler(call: Call) -> RedriveResult:
    return quota.redrive(call.ports, call.principal, runtime.boto_client("sqs"))
