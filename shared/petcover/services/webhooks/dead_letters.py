"""Dead letters: events that failed for the whole retry window; listed for ops and redriven.

Once an event is older than ``webhook_max_age_hours`` (24 h) after a failure it is dead: sent to
the webhook DLQ, listed under ``gsi2pk = WHDEAD``, announced to the ops chat (once per channel and
hour), and it counts against the endpoint (``endpoints.count_failure``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from petcover.config import get_settings
from petcover.errors import StaleWrite
from petcover.identity import Principal
from petcover.models.webhooks import DeadLetterList, RequeueResult
from petcover.ports import Ports
from petcover.repositories import webhooks as repo
from petcover.services import alerts, audit
from petcover.services.alerts import HttpResult
from petcover.services.webhooks import endpoints, log, requeue
from petcover.services.webhooks.messages import DeliveryMessage

WEBHOOK_DLQ = "webhook_dlq"


def bury(p: Ports, d: repo.Delivery, msg: DeliveryMessage, result: HttpResult, at: datetime) -> None:
    """The last attempt failed after the window: the event becomes a dead letter."""
    dead_at = repo.stamp(at)
    # The SQS DLQ copy (alarm + backup) first: a crash after it duplicates, never loses.
    p.publisher.send(WEBHOOK_DLQ, [{**msg.model_dump(), "reason": result.describe(), "dead_at": dead_at}])
    data = repo.dead_data(d, dead_at=dead_at, attempts=msg.attempt, status_code=result.status, error=result.describe())
    try:
        p.store.update(
            *repo.delivery_key(d.event_id),
            set={"state": "dead", **repo.dead_index(dead_at, d.event_id), "data": data},
            expect=[("fence", "=", msg.run), ("state", "=", "pending")],
        )
    except StaleWrite:
        return
    log.append(p, d, at, "dead", run=msg.run, attempt=msg.attempt, error=result.describe())
    _announce(p, d, msg, result, at)
    endpoints.count_failure(p, d.channel_id, at)


def _announce(p: Ports, d: repo.Delivery, msg: DeliveryMessage, result: HttpResult, at: datetime) -> None:
    hours = get_settings().webhook_max_age_hours
    e = d.event
    alerts.raise_alert(
        p,
        target=None,
        text=(
            f"[petcover] Webhook to channel {d.channel_id} failed for {hours} h and is now a dead letter: "
            f"{e.event_type} {e.object_type}/{e.object_id} v{e.version} (event {e.event_id}, "
            f"{msg.attempt} attempts, last: {result.describe()}). Further dead letters of this channel "
            "this hour are not announced. List: GET /ops/webhooks/dead-letters; "
            "resend: POST /ops/webhooks/dead-letters/redrive."
        ),
        dedupe_key=f"webhook-dead:{d.channel_id}:{at.astimezone(UTC):%Y%m%d%H}",
    )


def listing(p: Ports, *, limit: int = 50, cursor: str | None = None) -> DeadLetterList:
    """One page of dead letters, newest first."""
    page = p.store.query(repo.DEAD_PK, index=repo.DEAD_INDEX, limit=limit, cursor=cursor, descending=True)
    return DeadLetterList(items=[repo.dead_letter(i) for i in page.items], cursor=page.cursor)


def redrive(p: Ports, who: Principal) -> RequeueResult:
    """Put every dead event back on the queue (attempt 1 of a new run, a fresh retry window)."""
    actor = audit.actor_name(who)
    # Recorded before the events move (each move is its own write), then amended with what moved.
    started = audit.record(p, who, "webhook_dead_letters", "all", "redrive", after={"requeued": None})
    ids, more = requeue.requeue_batch(p, "dead", None, actor)
    audit.amend(p, started, after={"requeued": len(ids), "event_ids": ids[:100]})
    return RequeueResult(requeued=len(ids), event_ids=ids, more=more)
