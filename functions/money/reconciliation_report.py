"""GET /ops/reconciliation/{date}: the nightly financial reconciliation report of one business day."""

from petcover.api import Call, api, ops
from petcover.models.money import ReconciliationReport
from petcover.services.money import reconciliation


@api(
    summary="The reconciliation report of a business day (YYYY-MM-DD): each difference with the objects "
    "involved, configuration gaps (reported once) and the counts checked",
    auth=ops("finance"),
    response=ReconciliationReport,
    metric="ReconciliationRead",
    tags=("money", "reports"),
    errors=("REPORT_NOT_FOUND",),
)
def handler(call: Call) -> ReconciliationReport:
    return ReconciliationReport.model_validate(reconciliation.get_report(call.ports, call.path["date"]))
