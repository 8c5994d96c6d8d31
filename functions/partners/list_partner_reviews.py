"""GET /ops/partner-reviews: first configurations awaiting review and pending change requests."""

from petcover.api import Call, api, ops
from petcover.models.partners import ReviewQueue
from petcover.services.partners import overview


@api(
    summary="Partner configurations and change requests awaiting review",
    auth=ops("ops"),
    response=ReviewQueue,
    metric="PartnerReviewsListed",
    tags=("partners",),
)
def handler(call: Call) -> ReviewQueue:
    return overview.review_queue(call.ports)
