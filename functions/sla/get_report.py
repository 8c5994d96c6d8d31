"""GET /ops/sla/reports/{kind}/{date}/{format}: one report file (CSV/JSON as text, PNG as base64)."""

from petcover.api import Call, api, ops
from petcover.models.sla import ReportFile, ReportPath
from petcover.services.sla import reports


@api(
    summary="One SLA report file: csv or json content as text, the daily trend chart (png) base64-encoded "
    "with its legend; date is YYYY-MM-DD (snapshots: YYYY-MM-DDTHHMM)",
    auth=ops("ops"),
    response=ReportFile,
    metric="SlaReportRead",
    tags=("sla", "reports"),
    path=ReportPath,
    errors=("REPORT_NOT_FOUND", "REPORT_FORMAT_NOT_AVAILABLE", "REPORT_FILE_MISSING"),
)
def handler(call: Call) -> ReportFile:
    return reports.get_report(call.ports, call.path["kind"], call.path["date"], call.path["format"])
