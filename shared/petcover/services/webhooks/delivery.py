"""The WebhookQueue consumer: POST the exact stored body to the channel's callback URL, signed.

Retries: a failed attempt re-enqueues the message itself (attempt + 1) after an exponential
backoff (30 s doubling to one hour, plus up to 10 % jitter) and returns normally, so SQS never
redrives it and nothing is counted twice. SQS delays at most 15 minutes: longer waits carry
``not_before`` and hop until due. After the retry window the event is dead (``dead_letters``).
While the channel's endpoint is paused, events are held (``gsi3pk = WHHELD#{channel}``).

Exactly one POST per attempt: an attempt is claimed with a conditional put of its log item
(``repositories.webhooks.attempt_item``, one per run and attempt), so the same SQS message
delivered twice (even concurrently) posts once, and a delivered event is never posted again by
an old message.
Only ops can send it again (replay / redrive / resume start a new ``run``; messages of an older
run are ignored). A claim left "sending" by a crashed invocation is taken over after 60 s.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from petcover import signing
from petcover.config import get_settings
from petcover.errors import StaleWrite
from petcover.models.webhooks import DeliveryLogEntry, EventState
from petcover.observability import logger
from petcover.ports import Cond, Item, Ports, Update, WriteOp
from petcover.repositories import catalog as channel_keys
from petcover.repositories import partners as partner_keys
from petcover.repositories import webhooks as repo
from petcover.services.alerts import Sender, http_post
from petcover.services.webhooks import dead_letters, endpoints, log, requeue
from petcover.services.webhooks.messages import DeliveryMessage, RequeueMessage, enqueue

BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
BACKOFF_JITTER = 0.1  # up to +10 %, never less than the schedule
HTTP_TIMEOUT_SECONDS = 5.0
STALE_CLAIM_SECONDS = 60


def backoff_seconds(attempt: int) -> int:
    """Wait after failed attempt ``attempt`` (1-based): 30 s, 60 s, 120 s ... capped at one hour."""
    return int(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** min(max(attempt, 1) - 1, 20)))


def retry_delay(attempt: int, rng: Callable[[], float] = random.random) -> float:
    base = backoff_seconds(attempt)
    return base + base * BACKOFF_JITTER * rng()


def handle_message(p: Ports, message: Mapping[str, Any], *, send: Sender = http_post) -> str:
    """One WebhookQueue message; returns what happened (for logs and tests)."""
    if message.get("kind") == "requeue":
        return requeue.continue_requeue(p, RequeueMessage.model_validate(message))
    return deliver(p, message, send=send)


def deliver(p: Ports, message: Mapping[str, Any], *, send: Sender = http_post) -> str:
    """One delivery attempt: every reason not to POST is checked first, then ``_post``."""
    msg = DeliveryMessage.model_validate(message)
    now = p.now()
    if msg.not_before is not None and msg.not_before > now.timestamp() + 1:
        enqueue(p, msg, msg.not_before - now.timestamp())  # a hop, not an attempt
        return "waiting"
    found = _read(p, msg.event_id, msg.channel_id)
    item = found.get(repo.delivery_key(msg.event_id))
    if item is None:
        logger.error("webhook event not found; message dropped", extra={"event_id": msg.event_id})
        return "missing"
    d = repo.load_delivery(item)
    if msg.run != d.run:
        return "stale"  # ops started another run (replay / release / redrive)
    if d.state != "pending":
        return f"already {d.state}"
    if d.channel_id != msg.channel_id:  # not written so; the event's own channel decides
        found = _read(p, d.event_id, d.channel_id)

    target, why_not = _callback(p, found.get(partner_keys.channel(d.channel_id)), d.channel_id, now)
    if target is None:
        _settle(p, d, msg, "skipped", now, error=why_not)
        return "skipped"
    endpoint = found.get(repo.endpoint_key(d.channel_id)) or {}
    if endpoint.get("state") == "paused":
        hold(p, d, msg, now)
        return "held"
    if not _claim(p, d, msg, now):
        return "duplicate"
    return _post(p, d, msg, target, endpoint, send, now)


def _post(
    p: Ports,
    d: repo.Delivery,
    msg: DeliveryMessage,
    target: tuple[str, list[str]],
    endpoint: Item,
    send: Sender,
    now: datetime,
) -> str:
    """The claimed attempt: POST, then delivered, retry later, or dead."""
    url, secrets = target
    body = d.body
    headers = {
        **signing.webhook_headers(secrets, body, event_id=d.event_id, now=int(now.timestamp())),
        "X-Pc-Event-Type": d.event.event_type,
        "X-Pc-Attempt": str(msg.attempt),
    }
    result = send(url, body, headers, HTTP_TIMEOUT_SECONDS)
    done = p.now()
    fields: dict[str, Any] = {"run": msg.run, "attempt": msg.attempt, "status_code": result.status}
    fields |= {"latency_ms": result.latency_ms, "error": None if result.ok else result.describe()}

    if result.ok:
        _delivered(p, d, msg, repo.log_entry(d, done, "delivered", **fields), endpoint)
        return "delivered"

    max_age = get_settings().webhook_max_age_hours * 3600
    if done.timestamp() - msg.window_start < max_age:
        wait = retry_delay(msg.attempt)
        due = done.timestamp() + wait
        # Re-enqueue before closing the claim: a crash in between duplicates, never loses.
        enqueue(p, msg.model_copy(update={"attempt": msg.attempt + 1, "not_before": due}), wait)
        entry = repo.log_entry(d, done, "failed", next_attempt_at=repo.stamp_epoch(due), **fields)
        _finish_claim(p, msg, entry)
        return "retrying"

    dead_letters.bury(p, d, msg, result, done)
    _finish_claim(p, msg, repo.log_entry(d, done, "failed", **fields))
    return "dead"


def _read(p: Ports, event_id: str, channel_id: str) -> dict[tuple[str, str], Item]:
    """The event's delivery, its channel and the channel's endpoint, in one round trip."""
    keys = [repo.delivery_key(event_id), partner_keys.channel(channel_id), repo.endpoint_key(channel_id)]
    return p.store.get_many(keys)


def _delivered(p: Ports, d: repo.Delivery, msg: DeliveryMessage, entry: DeliveryLogEntry, endpoint: Item) -> None:
    """The event delivered, the attempt closed and the endpoint's failures reset, in one transaction."""
    pending: list[Cond] = [("fence", "=", msg.run), ("state", "=", "pending")]
    mark: WriteOp = Update(*repo.delivery_key(d.event_id), set={"state": "delivered"}, expect=pending)
    close = _finish_claim_op(msg, entry)
    reset = endpoints.reset_failures_ops(d.channel_id, endpoint)
    try:
        p.store.transact([mark, close, *reset])
    except StaleWrite:  # ops started another run meanwhile: that run decides the event's state
        p.store.transact([close, *reset])


def _callback(
    p: Ports, channel: Item | None, channel_id: str, now: datetime
) -> tuple[tuple[str, list[str]] | None, str]:
    """(callback URL, the webhook secrets that sign now) of the channel, or None and why not."""
    if channel is None:
        return None, "channel not found"
    if channel.get("state") == "closed":
        return None, "channel is closed"
    data = channel_keys.channel_data(channel)
    url, sealed = data.get("callback_url"), channel_keys.webhook_signing_secrets(data, now)
    if not url:
        return None, "channel has no callback_url"
    if not sealed:
        return None, "channel has no webhook secret"
    context = channel_keys.webhook_secret_context(channel_id)
    return (str(url), [p.box().open_secret(s, context) for s in sealed]), ""


def _claim(p: Ports, d: repo.Delivery, msg: DeliveryMessage, now: datetime) -> bool:
    """Conditional put of this attempt's log item: the one writer that wins may POST."""
    entry = repo.log_entry(d, now, "sending", run=msg.run, attempt=msg.attempt)
    item = repo.attempt_item(entry, msg.run, msg.attempt, now)
    pk, sk = item["pk"], item["sk"]
    try:
        p.store.put(item, if_absent=True)
        return True
    except StaleWrite:
        pass
    existing = p.store.get(pk, sk)
    if existing is None or existing.get("state") != "sending":
        return False  # this attempt already finished
    claimed_at = int(existing.get("fence") or 0)
    if claimed_at > now.timestamp() - STALE_CLAIM_SECONDS:
        return False  # another invocation is sending it right now
    try:  # the claimer crashed before finishing: take the attempt over
        p.store.update(
            pk,
            sk,
            set={"fence": int(now.timestamp())},
            expect=[("state", "=", "sending"), ("fence", "=", claimed_at)],
        )
        return True
    except StaleWrite:
        return False


def _finish_claim_op(msg: DeliveryMessage, entry: DeliveryLogEntry) -> Update:
    sk = repo.attempt_sk(msg.run, msg.attempt)
    return Update(repo.delivery_pk(entry.event_id), sk, set={"state": entry.status, "data": entry.model_dump_json()})


def _finish_claim(p: Ports, msg: DeliveryMessage, entry: DeliveryLogEntry) -> None:
    op = _finish_claim_op(msg, entry)
    p.store.update(op.pk, op.sk, set=op.set)


def _settle(p: Ports, d: repo.Delivery, msg: DeliveryMessage, state: EventState, now: datetime, **fields: Any) -> bool:
    try:
        p.store.update(
            *repo.delivery_key(d.event_id),
            set={"state": state},
            expect=[("fence", "=", msg.run), ("state", "=", "pending")],
        )
    except StaleWrite:
        return False
    log.append(p, d, now, state, run=msg.run, **fields)  # type: ignore[arg-type]
    return True


def hold(p: Ports, d: repo.Delivery, msg: DeliveryMessage, now: datetime) -> None:
    """The endpoint is paused: park the event in the channel's held list until resume."""
    pk, sk = repo.delivery_key(d.event_id)
    try:
        p.store.update(
            pk,
            sk,
            set={"state": "held", **repo.held_index(d.channel_id, now, d.event_id)},
            expect=[("fence", "=", msg.run), ("state", "=", "pending")],
        )
    except StaleWrite:
        return
    log.append(p, d, now, "held", run=msg.run, attempt=msg.attempt)
    # Resume may have listed the held events just before this one was written: look again.
    endpoint = p.store.get(*repo.endpoint_key(d.channel_id)) or {}
    if endpoint.get("state") != "paused":
        held = p.store.get(pk, sk)
        if held is not None:
            requeue.requeue_one(p, repo.load_delivery(held), "held", endpoints.SYSTEM_ACTOR)
