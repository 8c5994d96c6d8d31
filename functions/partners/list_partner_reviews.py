"""GET /ops/partner-reviews: first configurations awaiting review and pending change requests."""

from petcover.api import Call, api, ops
from petcover.models.partners import ReviewQueue
from petcover.services import partners


@api(
    summary="Partner configurations and change requests awaiting review",
    auth=ops("ops"),
    response=ReviewQueue,
    metric="PartnerReviewsListed",
    tags=("partners",),
)
def handler(call: Call) -> ReviewQueue:
    return partners.review_queue(call.ports)
