"""Staff: progress of a bulk issue (accepted, issued, rejected) and the rejected rows."""

from petcover.api import Call, api, ops
from petcover.models.base import Model
from petcover.models.bulk import BulkJob
from petcover.services import bulk


class Page(Model):
    cursor: str | None = None


@api(
    summary="Progress of a bulk issue with rejected rows and reasons",
    auth=ops("service", "sales"),
    query=Page,
    response=BulkJob,
    metric="BulkIssueRead",
    tags=("bulk",),
)
def handler(call: Call) -> BulkJob:
    return bulk.status(call.ports, call.path["jobId"], call.query.cursor)
