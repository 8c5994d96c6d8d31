"""POST /ops/reconciliation: prove used quota equals fulfilled appointments (on demand)."""

from petcover.api import Call, api, ops
from petcover.models.fulfilment import ReconcileReport, ReconcileRequest
from petcover.services import quota


@api(
    summary="Reconcile quota against fulfilled appointments for a policy or a business day",
    auth=ops("ops", "finance"),
    body=ReconcileRequest,
    response=ReconcileReport,
    metric="QuotaReconciledOnDemand",
    tags=("fulfilment", "ops"),
)
def handler(call: Call[ReconcileRequest]) -> ReconcileReport:
    b = call.body
    return quota.reconcile(call.ports, policy_number=b.policy_number, day=b.day, repair=b.repair)
