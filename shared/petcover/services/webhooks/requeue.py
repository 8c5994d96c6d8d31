"""Sending events again: replay one event, or put held / dead events back on the queue.

Each starts a new ``run`` of the event (attempt 1, a fresh retry window); messages of an older
run are then ignored by the deliverer, so a delivered event is never posted again by an old
message.
"""

from __future__ import annotations

from typing import Any, Literal

from petcover.errors import Conflict, StaleWrite
from petcover.identity import Principal
from petcover.models.webhooks import DeliveryStatus, ReplayResult
from petcover.ports import Ports, Put, Update, WriteOp
from petcover.repositories import webhooks as repo
from petcover.services import audit, outbox
from petcover.services.webhooks import events, log
from petcover.services.webhooks.messages import WEBHOOK_QUEUE, DeliveryMessage, RequeueMessage, enqueue

REQUEUE_BATCH = 100

Source = Literal["held", "dead"]


def replay(p: Ports, who: Principal, event_id: str) -> ReplayResult:
    """Send a stored event again as attempt 1 of a new run, even if it was delivered (ops asked)."""
    d = events.load(p, event_id)
    before = d.state
    record = audit.entry(
        p,
        who,
        "webhook_event",
        event_id,
        "replay",
        before={"state": before, "run": d.run},
        after={"state": "pending", "run": d.run + 1},
    )
    run = restart(p, d, None, "replayed", audit.actor_name(who), also=[record])
    if run is None:
        raise Conflict("The webhook event changed meanwhile; look again and retry.")
    return ReplayResult(event_id=event_id, run=run, previous_state=before, state="pending")


def restart(
    p: Ports,
    d: repo.Delivery,
    from_state: str | None,
    status: DeliveryStatus,
    actor: str,
    also: list[WriteOp] | None = None,
) -> int | None:
    """Start a new run: back to pending, out of the held / dead lists; None if it changed meanwhile.

    The move, its log entry, its first delivery message (outbox) and ``also`` (an audit record)
    are one transaction, so a crash after it cannot leave the event pending with nothing queued.
    """
    expect: list[Any] = [("fence", "=", d.run)]
    if from_state is not None:
        expect.append(("state", "=", from_state))
    run, now = d.run + 1, p.now()
    moved = Update(
        *repo.delivery_key(d.event_id), set={"state": "pending", **repo.off_lists()}, add={"fence": 1}, expect=expect
    )
    logged = Put(log.entry_item(d, now, status, run=run, actor=actor))
    first = DeliveryMessage(event_id=d.event_id, channel_id=d.channel_id, run=run, window_start=now.timestamp())
    queued, oid = outbox.message(p, queue=WEBHOOK_QUEUE, body=first.model_dump())
    try:
        p.store.transact([moved, logged, queued, *(also or [])])
    except StaleWrite:
        return None
    outbox.release(p, oid)
    return run


def requeue_one(p: Ports, d: repo.Delivery, source: Source, actor: str) -> bool:
    return restart(p, d, source, "released" if source == "held" else "redriven", actor) is not None


def requeue_batch(p: Ports, source: Source, channel_id: str | None, actor: str) -> tuple[list[str], bool]:
    """Put one batch of held (of a channel) or dead events back on the queue.

    Each event is moved (conditional write) before its message is sent, so a crash loses no
    message for a moved event except the one in flight. More than a batch continues through a
    ``RequeueMessage`` on the webhook queue, so the API answers within its timeout (hence one
    page here, not every page).
    """
    if source == "held":
        assert channel_id is not None
        page = p.store.query(repo.held_pk(channel_id), index=repo.HELD_INDEX, limit=REQUEUE_BATCH)
    else:
        page = p.store.query(repo.DEAD_PK, index=repo.DEAD_INDEX, limit=REQUEUE_BATCH)
    moved = [i for i in page.items if requeue_one(p, repo.load_delivery(i), source, actor)]
    more = page.cursor is not None and bool(moved)
    if more:
        enqueue(p, RequeueMessage(source=source, channel_id=channel_id, actor=actor))
    return [repo.load_delivery(i).event_id for i in moved], more


def continue_requeue(p: Ports, msg: RequeueMessage) -> str:
    """The next batch of a resume / redrive (a ``RequeueMessage``); a resume stops if paused again."""
    if msg.source == "held":
        assert msg.channel_id is not None
        endpoint = p.store.get(*repo.endpoint_key(msg.channel_id)) or {}
        if endpoint.get("state") == "paused":
            return "requeue stopped: endpoint paused again"
    ids, _ = requeue_batch(p, msg.source, msg.channel_id, msg.actor)
    return f"requeued {len(ids)}"
