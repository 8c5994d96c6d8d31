"""GET /ops/webhooks/dead-letters: events that failed for the whole retry window."""

from petcover.api import Call, api, ops
from petcover.models.webhooks import DeadLetterList, ListQuery
from petcover.services.webhooks import dead_letters


@api(
    summary="Webhook dead letters, newest first",
    auth=ops("ops", "service"),
    query=ListQuery,
    response=DeadLetterList,
    metric="WebhookDeadLettersRead",
    tags=("webhooks",),
)
def handler(call: Call) -> DeadLetterList:
    q: ListQuery = call.query
    return dead_letters.listing(call.ports, limit=q.limit, cursor=q.cursor)
