"""GET /ops/sla/reports?kind=daily|snapshot|summary&date=YYYY-MM-DD: the report index."""

from petcover.api import Call, api, ops
from petcover.models.sla import ReportList, ReportQuery
from petcover.services.sla import reports


@api(
    summary="SLA reports of one kind (daily timeliness, half-hourly snapshot, nightly summary), "
    "for one local date or newest first",
    auth=ops("ops"),
    query=ReportQuery,
    response=ReportList,
    metric="SlaReportsListed",
    tags=("sla", "reports"),
)
def handler(call: Call) -> ReportList:
    return reports.list_reports(call.ports, call.query)
