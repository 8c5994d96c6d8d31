"""Finance: a channel's monthly statement as CSV (issue, endorse, refund and claim lines)."""

from petcover.api import Call, api, ops
from petcover.services import ledger


@api(
    summary="Monthly channel statement (CSV)",
    auth=ops("finance"),
    response=str,
    metric="StatementExported",
    tags=("reports",),
    content_type="text/csv",
)
def handler(call: Call) -> str:
    entries = ledger.statement_entries(call.ports, call.path["channelId"], call.path["month"])
    return ledger.statement_csv(entries)
