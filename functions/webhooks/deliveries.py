"""GET /ops/webhooks/{ref}/{objectId}/deliveries: the delivery log of one object.

``ref`` is the object type (claim, fulfilment...). API Gateway allows one variable name per
path level, and /ops/webhooks/{ref}/replay (ref = event id) shares this level.
"""

from petcover.api import Call, api, ops
from petcover.models.webhooks import DeliveryLog, ListQuery
from petcover.services.webhooks import log


@api(
    summary="Webhook delivery log of one object (attempts, status codes, latency), newest first; "
    "ref is the object type",
    auth=ops("ops", "service"),
    query=ListQuery,
    response=DeliveryLog,
    metric="WebhookLogRead",
    tags=("webhooks",),
)
def handler(call: Call) -> DeliveryLog:
    q: ListQuery = call.query
    return log.delivery_log(call.ports, call.path["ref"], call.path["objectId"], limit=q.limit, cursor=q.cursor)
