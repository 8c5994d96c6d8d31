"""Staff: start a bulk issue from an uploaded (or inline) CSV / JSON-lines file."""

from petcover.api import Call, api, ops
from petcover.models.bulk import BulkIssueRequest, BulkJob
from petcover.services import bulk


@api(
    summary="Start a bulk issue of free cover for existing accounts",
    auth=ops("service", "sales"),
    body=BulkIssueRequest,
    response=BulkJob,
    status=202,
    idempotent=True,
    metric="BulkIssueStarted",
    tags=("bulk",),
)
def handler(call: Call[BulkIssueRequest]) -> BulkJob:
    return bulk.start(call.ports, call.principal, call.body)
