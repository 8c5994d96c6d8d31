"""GET /ops/exports/{report}/{format}: statistics or the loss-ratio report as JSON, CSV, XLSX (or PNG chart)."""

from petcover.api import Call, api, ops
from petcover.models.money import ExportFile, ExportQuery
from petcover.services.money import exports


@api(
    summary="Download statistics or the loss-ratio report (claims paid / premium by product, channel and "
    "month): json or csv as text, xlsx and the loss-ratio png chart base64-encoded",
    auth=ops("finance", "sales"),
    query=ExportQuery,
    response=ExportFile,
    metric="ReportExported",
    tags=("reports", "money"),
    errors=("UNKNOWN_REPORT",),
)
def handler(call: Call) -> ExportFile:
    return exports.export(call.ports, call.path["report"], call.path["format"], call.query)
