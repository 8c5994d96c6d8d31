"""GET /ops/overview: today, this month and 30 days of the platform, from counters."""

from petcover import runtime
from petcover.api import Call, api, ops
from petcover.models.overview import Overview
from petcover.services import overview


@api(
    summary="Overview: today and this month (policies, premium, cancellations and refunds, claims, bookings, "
    "fulfilment rate), open SLA breaches, the manual-dispatch queue, dead-letter depths and a 30-day series",
    auth=ops("ops", "service", "finance", "underwriter", "sales"),
    response=Overview,
    metric="OverviewRead",
    tags=("console",),
)
def handler(call: Call) -> Overview:
    sqs = runtime.boto_client("sqs")
    return overview.overview(call.ports, lambda: overview.dead_letter_depths(sqs))
