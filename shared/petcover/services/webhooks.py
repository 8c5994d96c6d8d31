"""Outgoing signed webhooks to channels: one event per status change the channel must show.

``notify`` is what other services call. It gives the object its next version (an atomic ADD
that only grows), records the event and a "queued" log entry, and puts a message on the
webhook queue. The WebhookQueue consumer (``handle_message``) POSTs the exact stored body to the
channel's callback URL, signed with ``signing.webhook_headers``.

Retries: a failed attempt re-enqueues the message itself (attempt + 1) after an exponential
backoff (30 s doubling to one hour, plus up to 10 % jitter) and returns normally, so SQS never
redrives it and nothing is counted twice. SQS delays at most 15 minutes: longer waits carry
``not_before`` and hop until due. Once the event is older than ``webhook_max_age_hours``
(24 h) after a failure it is dead: sent to the webhook DLQ, listed under ``gsi2pk = WHDEAD``,
announced to the ops chat, and it counts against the endpoint. After
``PAUSE_AFTER_CONSECUTIVE_FAILURES`` dead events in a row (a success resets the count) the
endpoint is paused: new events are held (``gsi3pk = WHHELD#{channel}``) until ops resume it,
which puts the held events back on the queue.

Exactly one POST per attempt: an attempt is claimed with a conditional put of its log item
``("WEBHOOK#{event}", "ATTEMPT#{run}#{attempt}")``, so the same SQS message delivered twice
(even concurrently) posts once, and a delivered event is never posted again by an old message.
Only ops can send it again (replay / redrive / resume start a new ``run``; messages of an older
run are ignored). A claim left "sending" by a crashed invocation is taken over after 60 s.

Keys (main table):
    ("OBJVER#{type}#{id}", "OBJVER")            seq: the object's last webhook version (never expires)
    ("WEBHOOK#{event}", "DELIVERY")             the event: state pending/delivered/held/dead/skipped,
                                                fence = run, data.body = the exact JSON sent
    ("WEBHOOK#{event}", "ATTEMPT#..." | "LOG#...")  delivery log, gsi1pk = "WHLOG#{type}#{id}"
    ("CHANNEL#{channel}", "WEBHOOK")            endpoint: state active/paused, n = dead events in a row
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

from petcover import signing
from petcover.config import get_settings
from petcover.domain.states import WEBHOOK_ENDPOINT
from petcover.errors import Conflict, IllegalTransition, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.webhooks import (
    DeadLetter,
    DeadLetterList,
    DeliveryLog,
    DeliveryLogEntry,
    DeliveryStatus,
    EndpointStatus,
    EventState,
    ReplayResult,
    RequeueResult,
    WebhookEvent,
)
from petcover.observability import logger
from petcover.ports import Item, Ports, Put
from petcover.repositories import partners as keys
from petcover.services import alerts, audit, outbox
from petcover.services.alerts import HttpResult, Sender, http_post

WEBHOOK_QUEUE = "webhook"
WEBHOOK_DLQ = "webhook_dlq"

SQS_MAX_DELAY_SECONDS = 900
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
BACKOFF_JITTER = 0.1  # up to +10 %, never less than the schedule
HTTP_TIMEOUT_SECONDS = 5.0
PAUSE_AFTER_CONSECUTIVE_FAILURES = 20
STALE_CLAIM_SECONDS = 60
REQUEUE_BATCH = 100
RETENTION_DAYS = 90
MAX_BODY_BYTES = 64 * 1024
SYSTEM_ACTOR = "system:webhooks"

DEAD_PK = "WHDEAD"
_TYPE_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_EVENT_TYPE_RE = re.compile(r"[a-z][a-z0-9_.]{0,63}")


# ---------------------------------------------------------------- keys and small helpers


def object_version_key(object_type: str, object_id: str) -> tuple[str, str]:
    return f"OBJVER#{object_type}#{object_id}", "OBJVER"


def delivery_key(event_id: str) -> tuple[str, str]:
    return f"WEBHOOK#{event_id}", "DELIVERY"


def endpoint_key(channel_id: str) -> tuple[str, str]:
    return f"CHANNEL#{channel_id}", "WEBHOOK"


def log_pk(object_type: str, object_id: str) -> str:
    return f"WHLOG#{object_type}#{object_id}"


def held_pk(channel_id: str) -> str:
    return f"WHHELD#{channel_id}"


def _stamp(dt: datetime) -> str:
    """Fixed-width UTC time, so sort keys order by time."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _from_epoch(seconds: float) -> str:
    return _stamp(datetime.fromtimestamp(seconds, UTC))


def backoff_seconds(attempt: int) -> int:
    """Wait after failed attempt ``attempt`` (1-based): 30 s, 60 s, 120 s ... capped at one hour."""
    return int(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** min(max(attempt, 1) - 1, 20)))


def retry_delay(attempt: int, rng: Callable[[], float] = random.random) -> float:
    base = backoff_seconds(attempt)
    return base + base * BACKOFF_JITTER * rng()


class DeliveryMessage(BaseModel):
    kind: Literal["deliver"] = "deliver"
    event_id: str
    channel_id: str
    run: int = 1
    attempt: int = 1
    window_start: float  # epoch seconds; the retry window is measured from here
    not_before: float | None = None  # epoch seconds; earlier copies hop until due


class RequeueMessage(BaseModel):
    """Continues a resume / redrive that had more events than one batch."""

    kind: Literal["requeue"] = "requeue"
    source: Literal["held", "dead"]
    channel_id: str | None = None
    actor: str


@dataclass
class _Delivery:
    item: Item
    event: WebhookEvent
    meta: dict[str, Any]

    @property
    def event_id(self) -> str:
        return self.event.event_id

    @property
    def channel_id(self) -> str:
        return str(self.meta["channel_id"])

    @property
    def body(self) -> bytes:
        return str(self.meta["body"]).encode()

    @property
    def state(self) -> EventState:
        return self.item.get("state", "pending")  # type: ignore[no-any-return]

    @property
    def run(self) -> int:
        return int(self.item.get("fence", 1))


def _load(item: Item) -> _Delivery:
    meta = json.loads(item["data"])
    return _Delivery(item, WebhookEvent.model_validate_json(meta["body"]), meta)


def _entry(d: _Delivery, at: datetime, status: DeliveryStatus, **fields: Any) -> DeliveryLogEntry:
    e = d.event
    return DeliveryLogEntry(
        event_id=e.event_id,
        event_type=e.event_type,
        object_type=e.object_type,
        object_id=e.object_id,
        version=e.version,
        channel_id=d.channel_id,
        at=_stamp(at),
        status=status,
        **{"run": d.run, **fields},
    )


def _expires(at: datetime) -> int:
    return int(at.timestamp()) + RETENTION_DAYS * 86400


def _log_item(entry: DeliveryLogEntry, sk: str, at: datetime) -> Item:
    return {
        "pk": delivery_key(entry.event_id)[0],
        "sk": sk,
        "kind": "webhook_log",
        "state": entry.status,
        "gsi1pk": log_pk(entry.object_type, entry.object_id),
        "gsi1sk": f"{entry.at}#{entry.event_id}#{sk}",
        "data": entry.model_dump_json(),
        "expires_at": _expires(at),
    }


def _log(p: Ports, d: _Delivery, at: datetime, status: DeliveryStatus, **fields: Any) -> None:
    entry = _entry(d, at, status, **fields)
    p.store.put(_log_item(entry, f"LOG#{entry.at}#{uuid.uuid4().hex[:8]}", at))


def _send(p: Ports, msg: DeliveryMessage | RequeueMessage, wait: float = 0) -> None:
    delay = min(SQS_MAX_DELAY_SECONDS, max(0, math.ceil(wait)))
    p.publisher.send(WEBHOOK_QUEUE, [msg.model_dump()], delay_seconds=delay)


# ---------------------------------------------------------------- notify (called by other services)


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
    if not channel_id:
        raise ValueError("channel_id is required")
    if not _TYPE_RE.fullmatch(object_type):
        raise ValueError("object_type must be 1-32 of [a-z0-9_], starting with a letter")
    if not _EVENT_TYPE_RE.fullmatch(event_type):
        raise ValueError("event_type must be 1-64 of [a-z0-9_.], starting with a letter")
    if not object_id or len(object_id) > 128:
        raise ValueError("object_id must be 1 to 128 characters")
    data = json.loads(json.dumps(dict(payload), default=str))  # JSON-safe copy, fails early

    pk, sk = object_version_key(object_type, object_id)
    version = int(p.store.update(pk, sk, add={"seq": 1}, set={"kind": "object_version"})["seq"])
    now = p.now()
    event = WebhookEvent(
        event_id=f"evt_{uuid.uuid4().hex}",
        event_type=event_type,
        object_type=object_type,
        object_id=object_id,
        version=version,
        occurred_at=_stamp(now),
        data=data,
    )
    body = json.dumps(event.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))
    if len(body.encode()) > MAX_BODY_BYTES:
        raise ValueError(f"webhook body is {len(body.encode())} bytes; the limit is {MAX_BODY_BYTES}")
    dpk, dsk = delivery_key(event.event_id)
    item: Item = {
        "pk": dpk,
        "sk": dsk,
        "kind": "webhook_event",
        "state": "pending",
        "owner": channel_id,
        "ref": f"{object_type}#{object_id}",
        "version": version,
        "fence": 1,
        "expires_at": _expires(now),
        "data": json.dumps({"body": body, "channel_id": channel_id, "created_at": _stamp(now)}),
    }
    d = _load(item)
    queued = _entry(d, now, "queued")
    # The first delivery message is written with the event (outbox), so a crash between the commit
    # and the send cannot leave the event pending with nothing on the queue.
    first = DeliveryMessage(event_id=event.event_id, channel_id=channel_id, window_start=now.timestamp())
    announce, oid = outbox.message(p, queue=WEBHOOK_QUEUE, body=first.model_dump())
    p.store.transact([Put(item, if_absent=True), Put(_log_item(queued, f"LOG#{queued.at}#queued", now)), announce])
    outbox.release(p, oid)
    return event.event_id


# ---------------------------------------------------------------- delivery (WebhookQueue consumer)


def handle_message(p: Ports, message: Mapping[str, Any], *, send: Sender = http_post) -> str:
    """One WebhookQueue message; returns what happened (for logs and tests)."""
    if message.get("kind") == "requeue":
        return _continue_requeue(p, RequeueMessage.model_validate(message))
    return deliver(p, message, send=send)


def deliver(p: Ports, message: Mapping[str, Any], *, send: Sender = http_post) -> str:
    msg = DeliveryMessage.model_validate(message)
    now = p.now()
    if msg.not_before is not None and msg.not_before > now.timestamp() + 1:
        _send(p, msg, msg.not_before - now.timestamp())  # a hop, not an attempt
        return "waiting"
    item = p.store.get(*delivery_key(msg.event_id))
    if item is None:
        logger.error("webhook event not found; message dropped", extra={"event_id": msg.event_id})
        return "missing"
    d = _load(item)
    if msg.run != d.run:
        return "stale"  # ops started another run (replay / release / redrive)
    if d.state != "pending":
        return f"already {d.state}"

    target, why_not = _callback(p, d.channel_id)
    if target is None:
        _settle(p, d, msg, "skipped", now, error=why_not)
        return "skipped"
    endpoint = p.store.get(*endpoint_key(d.channel_id)) or {}
    if endpoint.get("state") == "paused":
        _hold(p, d, msg, now)
        return "held"
    if not _claim(p, d, msg, now):
        return "duplicate"

    url, secret = target
    body = d.body
    headers = {
        **signing.webhook_headers(secret, body, event_id=d.event_id, now=int(now.timestamp())),
        "X-Pc-Event-Type": d.event.event_type,
        "X-Pc-Attempt": str(msg.attempt),
    }
    result = send(url, body, headers, HTTP_TIMEOUT_SECONDS)
    done = p.now()
    fields: dict[str, Any] = {"run": msg.run, "attempt": msg.attempt, "status_code": result.status}
    fields |= {"latency_ms": result.latency_ms, "error": None if result.ok else result.describe()}

    if result.ok:
        with contextlib.suppress(StaleWrite):  # ops started another run meanwhile; that run decides
            p.store.update(
                *delivery_key(d.event_id),
                set={"state": "delivered"},
                expect=[("fence", "=", msg.run), ("state", "=", "pending")],
            )
        _finish_claim(p, d, msg, _entry(d, done, "delivered", **fields))
        if int(endpoint.get("n") or 0) > 0:
            p.store.update(*endpoint_key(d.channel_id), set={"n": 0})
        return "delivered"

    max_age = get_settings().webhook_max_age_hours * 3600
    if done.timestamp() - msg.window_start < max_age:
        wait = retry_delay(msg.attempt)
        due = done.timestamp() + wait
        # Re-enqueue before closing the claim: a crash in between duplicates, never loses.
        _send(p, msg.model_copy(update={"attempt": msg.attempt + 1, "not_before": due}), wait)
        _finish_claim(p, d, msg, _entry(d, done, "failed", next_attempt_at=_from_epoch(due), **fields))
        return "retrying"

    _dead(p, d, msg, result, done)
    _finish_claim(p, d, msg, _entry(d, done, "failed", **fields))
    return "dead"


def _callback(p: Ports, channel_id: str) -> tuple[tuple[str, str] | None, str]:
    channel = p.store.get(*keys.channel(channel_id), consistent=False)
    if channel is None:
        return None, "channel not found"
    if channel.get("state") == "closed":
        return None, "channel is closed"
    data = json.loads(channel.get("data") or "{}")
    url, secret = data.get("callback_url"), data.get("webhook_secret")
    if not url:
        return None, "channel has no callback_url"
    if not secret:
        return None, "channel has no webhook_secret"
    return (str(url), str(secret)), ""


def _claim(p: Ports, d: _Delivery, msg: DeliveryMessage, now: datetime) -> bool:
    """Conditional put of this attempt's log item: the one writer that wins may POST."""
    sk = f"ATTEMPT#{msg.run:04d}#{msg.attempt:04d}"
    entry = _entry(d, now, "sending", run=msg.run, attempt=msg.attempt)
    item = {**_log_item(entry, sk, now), "fence": int(now.timestamp())}
    try:
        p.store.put(item, if_absent=True)
        return True
    except StaleWrite:
        pass
    existing = p.store.get(item["pk"], sk)
    if existing is None or existing.get("state") != "sending":
        return False  # this attempt already finished
    claimed_at = int(existing.get("fence") or 0)
    if claimed_at > now.timestamp() - STALE_CLAIM_SECONDS:
        return False  # another invocation is sending it right now
    try:  # the claimer crashed before finishing: take the attempt over
        p.store.update(
            item["pk"],
            sk,
            set={"fence": int(now.timestamp())},
            expect=[("state", "=", "sending"), ("fence", "=", claimed_at)],
        )
        return True
    except StaleWrite:
        return False


def _finish_claim(p: Ports, d: _Delivery, msg: DeliveryMessage, entry: DeliveryLogEntry) -> None:
    sk = f"ATTEMPT#{msg.run:04d}#{msg.attempt:04d}"
    p.store.update(delivery_key(d.event_id)[0], sk, set={"state": entry.status, "data": entry.model_dump_json()})


def _settle(p: Ports, d: _Delivery, msg: DeliveryMessage, state: EventState, now: datetime, **fields: Any) -> bool:
    try:
        p.store.update(
            *delivery_key(d.event_id),
            set={"state": state},
            expect=[("fence", "=", msg.run), ("state", "=", "pending")],
        )
    except StaleWrite:
        return False
    _log(p, d, now, state, run=msg.run, **fields)  # type: ignore[arg-type]
    return True


def _hold(p: Ports, d: _Delivery, msg: DeliveryMessage, now: datetime) -> None:
    pk, sk = delivery_key(d.event_id)
    try:
        p.store.update(
            pk,
            sk,
            set={"state": "held", "gsi3pk": held_pk(d.channel_id), "gsi3sk": f"{_stamp(now)}#{d.event_id}"},
            expect=[("fence", "=", msg.run), ("state", "=", "pending")],
        )
    except StaleWrite:
        return
    _log(p, d, now, "held", run=msg.run, attempt=msg.attempt)
    # Resume may have listed the held events just before this one was written: look again.
    endpoint = p.store.get(*endpoint_key(d.channel_id)) or {}
    if endpoint.get("state") != "paused":
        held = p.store.get(pk, sk)
        if held is not None:
            _requeue_one(p, _load(held), "held", SYSTEM_ACTOR)


def _dead(p: Ports, d: _Delivery, msg: DeliveryMessage, result: HttpResult, at: datetime) -> None:
    dead_at = _stamp(at)
    # The SQS DLQ copy (alarm + backup) first: a crash after it duplicates, never loses.
    p.publisher.send(WEBHOOK_DLQ, [{**msg.model_dump(), "reason": result.describe(), "dead_at": dead_at}])
    meta = {
        **d.meta,
        "dead_at": dead_at,
        "attempts": msg.attempt,
        "last_status_code": result.status,
        "last_error": result.describe(),
    }
    try:
        p.store.update(
            *delivery_key(d.event_id),
            set={
                "state": "dead",
                "gsi2pk": DEAD_PK,
                "gsi2sk": f"{dead_at}#{d.event_id}",
                "data": json.dumps(meta),
            },
            expect=[("fence", "=", msg.run), ("state", "=", "pending")],
        )
    except StaleWrite:
        return
    hours = get_settings().webhook_max_age_hours
    _log(p, d, at, "dead", run=msg.run, attempt=msg.attempt, error=result.describe())
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
    endpoint = p.store.update(*endpoint_key(d.channel_id), add={"n": 1}, set={"kind": "webhook_endpoint"})
    failures = int(endpoint.get("n") or 0)
    if failures >= PAUSE_AFTER_CONSECUTIVE_FAILURES and endpoint.get("state") != "paused":
        reason = f"{failures} consecutive webhook events failed for {hours} h each"
        try:
            _transition(p, d.channel_id, "pause", SYSTEM_ACTOR, reason)
        except Conflict:
            return  # paused by someone else meanwhile
        alerts.raise_alert(
            p,
            target=None,
            text=(
                f"[petcover] Webhook endpoint of channel {d.channel_id} is PAUSED: {reason}. New events "
                "are held. Resume when the receiver is fixed: "
                f"POST /ops/channels/{d.channel_id}/webhook/resume (held events are then sent)."
            ),
            dedupe_key=f"webhook-paused:{d.channel_id}:{_stamp(at)}",
        )


# ---------------------------------------------------------------- endpoint pause / resume


def _transition(p: Ports, channel_id: str, action: str, who: Principal | str, reason: str | None) -> tuple[str, Item]:
    pk, sk = endpoint_key(channel_id)
    item = p.store.get(pk, sk) or {}
    current = item.get("state") or WEBHOOK_ENDPOINT.initial
    target = WEBHOOK_ENDPOINT.next_state(current, action)  # IllegalTransition (409) when not allowed
    meta = {"changed_at": _stamp(p.now()), "changed_by": audit.actor_name(who), "reason": reason}
    changes: dict[str, Any] = {"state": target, "kind": "webhook_endpoint", "data": json.dumps(meta)}
    if action == "resume":
        changes["n"] = 0
    expect = [("state", "=", current)] if item.get("state") else [("state", "not_exists", None)]
    try:
        updated = p.store.update(pk, sk, set=changes, expect=expect)  # type: ignore[arg-type]
    except StaleWrite:
        raise Conflict("The webhook endpoint changed meanwhile; look again and retry.") from None
    audit.record(
        p,
        who,
        "webhook_endpoint",
        channel_id,
        action,
        before={"state": current, "consecutive_failures": int(item.get("n") or 0)},
        after={"state": target},
        reason=reason,
    )
    return current, updated


def _status(channel_id: str, item: Item, requeued: int = 0, more: bool = False) -> EndpointStatus:
    meta = json.loads(item.get("data") or "{}")
    return EndpointStatus(
        channel_id=channel_id,
        state=item.get("state") or "active",
        consecutive_failures=int(item.get("n") or 0),
        changed_at=meta.get("changed_at"),
        changed_by=meta.get("changed_by"),
        reason=meta.get("reason"),
        requeued=requeued,
        more=more,
    )


def pause(p: Ports, who: Principal, channel_id: str, reason: str) -> EndpointStatus:
    """Hold every delivery to this channel until ``resume``."""
    if p.store.get(*keys.channel(channel_id)) is None:
        raise NotFound(f"Channel {channel_id} does not exist.", code="CHANNEL_NOT_FOUND")
    _, item = _transition(p, channel_id, "pause", who, reason)
    return _status(channel_id, item)


def resume(p: Ports, who: Principal, channel_id: str) -> EndpointStatus:
    """Deliver again; the held events go back on the queue (first batch now, the rest queued).

    On an endpoint that is already active it only releases events still held (a resume that
    failed half-way is retried this way); with nothing held it is refused as the machine says.
    """
    try:
        _, item = _transition(p, channel_id, "resume", who, None)
    except IllegalTransition:
        item = p.store.get(*endpoint_key(channel_id)) or {}
        leftover = p.store.query(held_pk(channel_id), index="gsi3", limit=1).items
        if (item.get("state") or "active") != "active" or not leftover:
            raise
        audit.record(p, who, "webhook_endpoint", channel_id, "release_held", before={"state": "active"})
    actor = audit.actor_name(who)
    ids, more = _requeue(p, "held", channel_id, actor)
    return _status(channel_id, item, len(ids), more)


# ---------------------------------------------------------------- replay and dead letters


def replay(p: Ports, who: Principal, event_id: str) -> ReplayResult:
    """Send a stored event again as attempt 1 of a new run, even if it was delivered (ops asked)."""
    pk, sk = delivery_key(event_id)
    item = p.store.get(pk, sk)
    if item is None:
        raise NotFound(f"Webhook event {event_id} does not exist.", code="WEBHOOK_EVENT_NOT_FOUND")
    d = _load(item)
    before = d.state
    run = _restart(p, d)
    if run is None:
        raise Conflict("The webhook event changed meanwhile; look again and retry.")
    now = p.now()
    _log(p, d, now, "replayed", run=run, actor=audit.actor_name(who))
    _send(p, DeliveryMessage(event_id=event_id, channel_id=d.channel_id, run=run, window_start=now.timestamp()))
    audit.record(
        p,
        who,
        "webhook_event",
        event_id,
        "replay",
        before={"state": before, "run": d.run},
        after={"state": "pending", "run": run},
    )
    return ReplayResult(event_id=event_id, run=run, previous_state=before, state="pending")


def _restart(p: Ports, d: _Delivery, from_state: str | None = None) -> int | None:
    """Start a new run: back to pending, out of the held / dead lists. None if it changed meanwhile."""
    expect: list[Any] = [("fence", "=", d.run)]
    if from_state is not None:
        expect.append(("state", "=", from_state))
    try:
        updated = p.store.update(
            *delivery_key(d.event_id),
            set={"state": "pending", "gsi2pk": None, "gsi2sk": None, "gsi3pk": None, "gsi3sk": None},
            add={"fence": 1},
            expect=expect,
        )
    except StaleWrite:
        return None
    return int(updated["fence"])


def _requeue_one(p: Ports, d: _Delivery, source: Literal["held", "dead"], actor: str) -> bool:
    run = _restart(p, d, source)
    if run is None:
        return False
    now = p.now()
    _log(p, d, now, "released" if source == "held" else "redriven", run=run, actor=actor)
    _send(p, DeliveryMessage(event_id=d.event_id, channel_id=d.channel_id, run=run, window_start=now.timestamp()))
    return True


def _requeue(p: Ports, source: Literal["held", "dead"], channel_id: str | None, actor: str) -> tuple[list[str], bool]:
    """Put one batch of held (of a channel) or dead events back on the queue.

    Each event is moved (conditional write) before its message is sent, so a crash loses no
    message for a moved event except the one in flight. More than a batch continues through a
    ``RequeueMessage`` on the webhook queue, so the API answers within its timeout.
    """
    if source == "held":
        assert channel_id is not None
        page = p.store.query(held_pk(channel_id), index="gsi3", limit=REQUEUE_BATCH)
    else:
        page = p.store.query(DEAD_PK, index="gsi2", limit=REQUEUE_BATCH)
    moved = [i for i in page.items if _requeue_one(p, _load(i), source, actor)]
    more = page.cursor is not None and bool(moved)
    if more:
        _send(p, RequeueMessage(source=source, channel_id=channel_id, actor=actor))
    return [_load(i).event_id for i in moved], more


def _continue_requeue(p: Ports, msg: RequeueMessage) -> str:
    if msg.source == "held":
        assert msg.channel_id is not None
        endpoint = p.store.get(*endpoint_key(msg.channel_id)) or {}
        if endpoint.get("state") == "paused":
            return "requeue stopped: endpoint paused again"
    ids, _ = _requeue(p, msg.source, msg.channel_id, msg.actor)
    return f"requeued {len(ids)}"


def redrive(p: Ports, who: Principal) -> RequeueResult:
    """Put every dead event back on the queue (attempt 1 of a new run, a fresh retry window)."""
    actor = audit.actor_name(who)
    ids, more = _requeue(p, "dead", None, actor)
    audit.record(p, who, "webhook_dead_letters", "all", "redrive", after={"requeued": len(ids), "event_ids": ids[:100]})
    return RequeueResult(requeued=len(ids), event_ids=ids, more=more)


def dead_letters(p: Ports, *, limit: int = 50, cursor: str | None = None) -> DeadLetterList:
    page = p.store.query(DEAD_PK, index="gsi2", limit=limit, cursor=cursor, descending=True)
    out = []
    for item in page.items:
        d = _load(item)
        e = d.event
        out.append(
            DeadLetter(
                event_id=e.event_id,
                channel_id=d.channel_id,
                event_type=e.event_type,
                object_type=e.object_type,
                object_id=e.object_id,
                version=e.version,
                occurred_at=e.occurred_at,
                dead_at=d.meta.get("dead_at", ""),
                attempts=int(d.meta.get("attempts") or 0),
                last_status_code=d.meta.get("last_status_code"),
                last_error=d.meta.get("last_error"),
            )
        )
    return DeadLetterList(items=out, cursor=page.cursor)


def delivery_log(
    p: Ports, object_type: str, object_id: str, *, limit: int = 50, cursor: str | None = None
) -> DeliveryLog:
    """Every queued / attempt / held / dead / replay entry for one object, newest first."""
    page = p.store.query(log_pk(object_type, object_id), index="gsi1", limit=limit, cursor=cursor, descending=True)
    items = [DeliveryLogEntry.model_validate_json(i["data"]) for i in page.items]
    return DeliveryLog(items=items, cursor=page.cursor)


def event(p: Ports, event_id: str) -> tuple[WebhookEvent, EventState]:
    """The stored event and its delivery state (for support and tests)."""
    item = p.store.get(*delivery_key(event_id))
    if item is None:
        raise NotFound(f"Webhook event {event_id} does not exist.", code="WEBHOOK_EVENT_NOT_FOUND")
    d = _load(item)
    return d.event, d.state


def endpoint_status(p: Ports, channel_id: str) -> EndpointStatus:
    return _status(channel_id, p.store.get(*endpoint_key(channel_id)) or {})
