"""GET /ops/claim-reviews: the staff queue, claims waiting for an assessor with the reason."""

from petcover.api import Call, api, ops
from petcover.models.claims import ClaimReviewQuery, ClaimReviewQueue
from petcover.services.claims import lookups


@api(
    summary="Staff: claims waiting for an assessor, oldest first, each with the reason",
    auth=ops("underwriter", "service"),
    query=ClaimReviewQuery,
    response=ClaimReviewQueue,
    metric="ClaimReviewQueueRead",
    tags=("claims",),
)
def handler(call: Call) -> ClaimReviewQueue:
    q: ClaimReviewQuery = call.query
    return lookups.review_queue(call.ports, limit=q.limit, cursor=q.cursor)
