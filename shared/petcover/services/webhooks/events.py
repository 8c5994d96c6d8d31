"""Recording webhook events: ``notify`` (what other services call) and ``event`` (look one up).

``notify`` gives the object its next version (an atomic ADD that only grows), records the event
and a "queued" log entry, and puts its first delivery message on the webhook queue through the
outbox, in the same transaction. ``announcement`` gives the same writes to a caller that commits
them with the change they announce (fulfilment, under the appointment's lock).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from petcover.errors import NotFound
from petcover.ports import Item, Ports, Put, Update, WriteOp
from petcover.repositories import webhooks as repo
from petcover.services import outbox
from petcover.services.webhooks.messages import WEBHOOK_QUEUE, DeliveryMessage

if TYPE_CHECKING:
    from petcover.models.webhooks import EventState, WebhookEvent

MAX_BODY_BYTES = 64 * 1024

_TYPE_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_EVENT_TYPE_RE = re.compile(r"[a-z][a-z0-9_.]{0,63}")


def _check(channel_id: str, object_type: str, object_id: str, event_type: str) -> None:
    if not channel_id:
        raise ValueError("channel_id is required")
    if not _TYPE_RE.fullmatch(object_type):
        raise ValueError("object_type must be 1-32 of [a-z0-9_], starting with a letter")
    if not _EVENT_TYPE_RE.fullmatch(event_type):
        raise ValueError("event_type must be 1-64 of [a-z0-9_.], starting with a letter")
    if not object_id or len(object_id) > 128:
        raise ValueError("object_id must be 1 to 128 characters")


def notify(
    p: Ports,
    *,
    channel_id: str,
    object_type: str,
    object_id: str,
    event_type: str,
    payload: Mapping[str, Any],
) -> str:
    """Queue a signed webhook to the channel about one object; returns the event id.

    Call it on every claim or fulfilment status change the channel must show its customer.
    Versions per (object_type, object_id) only grow: receivers keep the highest they applied
    and drop anything not higher, because retries can deliver events out of order.
    """
    _check(channel_id, object_type, object_id, event_type)
    data = json.loads(json.dumps(dict(payload), default=str))  # JSON-safe copy, fails early

    pk, sk = repo.object_version_key(object_type, object_id)
    version = int(p.store.update(pk, sk, add={"seq": 1}, set={"kind": "object_version"})["seq"])
    event_id, ops, oid = _recorded(p, channel_id, object_type, object_id, event_type, data, version)
    p.store.transact(ops)
    outbox.release(p, oid)
    return event_id


def announcement(
    p: Ports,
    *,
    channel_id: str,
    object_type: str,
    object_id: str,
    event_type: str,
    payload: Mapping[str, Any],
    first: bool = False,
    known: Mapping[tuple[str, str], Item] | None = None,
) -> tuple[list[WriteOp], str]:
    """``notify`` as writes for the caller's own transaction: (writes, outbox id to release after it).

    The event, its "queued" log entry, its first delivery message and the object's next version
    commit with the change the event announces, or not at all. The version is read now and moved
    by a conditional write in that transaction, so the caller holds the object's lock (versions
    then follow commit order) and a version moved meanwhile refuses the whole transaction.
    ``first``: the object is new (its first event), so there is no version to read; if one exists
    after all, the transaction is refused. ``known``: items the caller already read consistently
    under the lock (``version_reads``), so the version is not read again.
    """
    _check(channel_id, object_type, object_id, event_type)
    data = json.loads(json.dumps(dict(payload), default=str))
    pk, sk = repo.object_version_key(object_type, object_id)
    stored = known.get((pk, sk)) if known is not None else None if first else p.store.get(pk, sk)
    current = 0 if first else int((stored or {}).get("seq") or 0)
    step = Update(
        pk,
        sk,
        add={"seq": 1},
        set={"kind": "object_version"},
        expect=[("seq", "=", current)] if current else [("seq", "not_exists", None)],
    )
    _, ops, oid = _recorded(p, channel_id, object_type, object_id, event_type, data, current + 1)
    return [step, *ops], oid


def version_reads(object_type: str, object_id: str) -> list[tuple[str, str]]:
    """What ``announcement`` reads of an object, for a caller that batches it with its own reads."""
    return [repo.object_version_key(object_type, object_id)]


def _recorded(
    p: Ports,
    channel_id: str,
    object_type: str,
    object_id: str,
    event_type: str,
    data: dict[str, Any],
    version: int,
) -> tuple[str, list[WriteOp], str]:
    """(event id, the event + its "queued" log entry + its first delivery message, outbox id)."""
    from petcover.models.webhooks import WebhookEvent

    now = p.now()
    event = WebhookEvent(
        event_id=f"evt_{uuid.uuid4().hex}",
        event_type=event_type,
        object_type=object_type,
        object_id=object_id,
        version=version,
        occurred_at=repo.stamp(now),
        data=data,
    )
    body = json.dumps(event.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))
    if len(body.encode()) > MAX_BODY_BYTES:
        raise ValueError(f"webhook body is {len(body.encode())} bytes; the limit is {MAX_BODY_BYTES}")
    item = repo.event_item(event, channel_id=channel_id, body=body, now=now)
    queued = repo.log_entry(repo.load_delivery(item), now, "queued")
    # The first delivery message is written with the event (outbox), so a crash between the commit
    # and the send cannot leave the event pending with nothing on the queue.
    first = DeliveryMessage(event_id=event.event_id, channel_id=channel_id, window_start=now.timestamp())
    announce, oid = outbox.message(p, queue=WEBHOOK_QUEUE, body=first.model_dump())
    log_item = repo.log_item(queued, repo.log_sk(queued.at, "queued"), now)
    return event.event_id, [Put(item, if_absent=True), Put(log_item), announce], oid


def load(p: Ports, event_id: str) -> repo.Delivery:
    """The stored event, or 404 WEBHOOK_EVENT_NOT_FOUND."""
    item = p.store.get(*repo.delivery_key(event_id))
    if item is None:
        raise NotFound(f"Webhook event {event_id} does not exist.", code="WEBHOOK_EVENT_NOT_FOUND")
    return repo.load_delivery(item)


def event(p: Ports, event_id: str) -> tuple[WebhookEvent, EventState]:
    """The stored event and its delivery state (for support and tests)."""
    d = load(p, event_id)
    return d.event, d.state
