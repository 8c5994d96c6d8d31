"""A channel's webhook endpoint: pause, resume, status, and the dead-event count that pauses it.

After ``PAUSE_AFTER_CONSECUTIVE_FAILURES`` dead events in a row (a success resets the count) the
endpoint is paused: new events are held until ops resume it, which puts the held events back on
the queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from petcover.config import get_settings
from petcover.domain.states import WEBHOOK_ENDPOINT
from petcover.errors import Conflict, IllegalTransition, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.webhooks import EndpointStatus
from petcover.ports import Item, Ports, Update, WriteOp
from petcover.repositories import partners as partner_keys
from petcover.repositories import webhooks as repo
from petcover.services import alerts, audit
from petcover.services.webhooks import requeue

PAUSE_AFTER_CONSECUTIVE_FAILURES = 20
SYSTEM_ACTOR = "system:webhooks"


def transition(p: Ports, channel_id: str, action: str, who: Principal | str, reason: str | None) -> tuple[str, Item]:
    """Pause or resume as the state machine allows (409 otherwise); audited. Returns (before, item)."""
    pk, sk = repo.endpoint_key(channel_id)
    item = p.store.get(pk, sk) or {}
    current = item.get("state") or WEBHOOK_ENDPOINT.initial
    target = WEBHOOK_ENDPOINT.next_state(current, action)  # IllegalTransition (409) when not allowed
    changes = repo.endpoint_changes(
        target,
        changed_at=p.now(),
        changed_by=audit.actor_name(who),
        reason=reason,
        reset_failures=action == "resume",
    )
    expect = [("state", "=", current)] if item.get("state") else [("state", "not_exists", None)]
    record = audit.entry(
        p,
        who,
        "webhook_endpoint",
        channel_id,
        action,
        before={"state": current, "consecutive_failures": repo.endpoint_failures(item)},
        after={"state": target},
        reason=reason,
    )
    try:
        p.store.transact([Update(pk, sk, set=changes, expect=expect), record])  # type: ignore[arg-type]
    except StaleWrite:
        raise Conflict("The webhook endpoint changed meanwhile; look again and retry.") from None
    updated = {k: v for k, v in {**item, "pk": pk, "sk": sk, **changes}.items() if v is not None}
    return current, updated


def pause(p: Ports, who: Principal, channel_id: str, reason: str) -> EndpointStatus:
    """Hold every delivery to this channel until ``resume``."""
    if p.store.get(*partner_keys.channel(channel_id)) is None:
        raise NotFound(f"Channel {channel_id} does not exist.", code="CHANNEL_NOT_FOUND")
    _, item = transition(p, channel_id, "pause", who, reason)
    return repo.endpoint_status(channel_id, item)


def resume(p: Ports, who: Principal, channel_id: str) -> EndpointStatus:
    """Deliver again; the held events go back on the queue (first batch now, the rest queued).

    On an endpoint that is already active it only releases events still held (a resume that
    failed half-way is retried this way); with nothing held it is refused as the machine says.
    """
    try:
        _, item = transition(p, channel_id, "resume", who, None)
    except IllegalTransition:
        item = p.store.get(*repo.endpoint_key(channel_id)) or {}
        leftover = p.store.query(repo.held_pk(channel_id), index=repo.HELD_INDEX, limit=1).items
        if (item.get("state") or "active") != "active" or not leftover:
            raise
        audit.record(p, who, "webhook_endpoint", channel_id, "release_held", before={"state": "active"})
    actor = audit.actor_name(who)
    ids, more = requeue.requeue_batch(p, "held", channel_id, actor)
    return repo.endpoint_status(channel_id, item, len(ids), more)


def status(p: Ports, channel_id: str) -> EndpointStatus:
    return repo.endpoint_status(channel_id, p.store.get(*repo.endpoint_key(channel_id)) or {})


def reset_failures_ops(channel_id: str, endpoint: Item) -> list[WriteOp]:
    """After a success: the dead events in a row start again from zero (nothing to write at zero)."""
    if repo.endpoint_failures(endpoint) == 0:
        return []
    return [Update(*repo.endpoint_key(channel_id), set={repo.FAILURES: 0})]


def count_failure(p: Ports, channel_id: str, at: datetime) -> None:
    """One more dead event in a row; pauses the endpoint (and tells ops) at the limit."""
    changes: dict[str, Any] = {"kind": repo.ENDPOINT_KIND}
    endpoint = p.store.update(*repo.endpoint_key(channel_id), add={repo.FAILURES: 1}, set=changes)
    failures = repo.endpoint_failures(endpoint)
    if failures < PAUSE_AFTER_CONSECUTIVE_FAILURES or endpoint.get("state") == "paused":
        return
    hours = get_settings().webhook_max_age_hours
    reason = f"{failures} consecutive webhook events failed for {hours} h each"
    try:
        transition(p, channel_id, "pause", SYSTEM_ACTOR, reason)
    except Conflict:
        return  # paused by someone else meanwhile
    alerts.raise_alert(
        p,
        target=None,
        text=(
            f"[petcover] Webhook endpoint of channel {channel_id} is PAUSED: {reason}. New events "
            "are held. Resume when the receiver is fixed: "
            f"POST /ops/channels/{channel_id}/webhook/resume (held events are then sent)."
        ),
        dedupe_key=f"webhook-paused:{channel_id}:{repo.stamp(at)}",
    )
