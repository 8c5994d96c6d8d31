"""Channels: the shops and payment platforms that sell policies, their webhook secret and status.

The webhook secret that signs our webhooks to a channel is shown once (at creation and on rotation)
and kept sealed by the secret box; answers and audit records carry the channel without it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from petcover import outbound
from petcover.domain import states
from petcover.errors import Conflict, InvalidInput, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.catalog import (
    Channel,
    ChannelCreate,
    ChannelCreated,
    ChannelUpdate,
    WebhookSecretRotate,
    WebhookSecretRotated,
)
from petcover.ports import Item, Ports, Put, Update
from petcover.repositories import catalog as keys
from petcover.repositories import partners as partner_keys
from petcover.services import audit
from petcover.services.catalog import unless_changed
from petcover.services.webhooks import endpoints


def get_channel(p: Ports, channel_id: str) -> Channel:
    item = p.store.get(*partner_keys.channel(channel_id))
    if item is None:
        raise NotFound(f"Channel {channel_id} does not exist.", code="CHANNEL_NOT_FOUND")
    return keys.load_channel(item)


def read_channel(p: Ports, channel_id: str) -> Channel:
    """A channel as staff read it: with its webhook endpoint's state."""
    return get_channel(p, channel_id).model_copy(update={"webhook": endpoints.status(p, channel_id)})


def list_channels(p: Ports) -> list[Channel]:
    return [keys.load_channel(i) for i in p.store.query(keys.CHANNEL_LIST, index="gsi1", limit=500).items]


def add_channel(p: Ports, who: Principal, req: ChannelCreate) -> ChannelCreated:
    """The channel and the secret that signs our webhooks to it, shown in this answer only (kept sealed)."""
    outbound.check_saved(str(req.callback_url), "callback_url")
    secret = secrets.token_urlsafe(32)
    data = {
        "id": req.id,
        "name": req.name,
        "callback_url": str(req.callback_url),
        "rate_limit": req.rate_limit,
        "created_at": p.now().isoformat(),
        keys.WEBHOOK_SECRET: p.box().seal_secret(secret, keys.webhook_secret_context(req.id)),
    }
    ch = Channel.model_validate({**keys.shown_channel_data(data), "status": "active"})
    try:
        p.store.transact(
            [
                Put(keys.new_channel_item(req.id, data), if_absent=True),
                audit.entry(p, who, "channel", req.id, "add", after=ch.model_dump(mode="json")),
            ]
        )
    except StaleWrite:
        raise Conflict(f"Channel {req.id} already exists.", code="CHANNEL_EXISTS") from None
    return ChannelCreated(**ch.model_dump(), webhook_secret=secret)


def _open_channel(p: Ports, channel_id: str) -> Item:
    item = p.store.get(*partner_keys.channel(channel_id))
    if item is None:
        raise NotFound(f"Channel {channel_id} does not exist.", code="CHANNEL_NOT_FOUND")
    if item.get("state") == "closed":
        raise Conflict("Channel is closed and cannot be changed.", code="CHANNEL_CLOSED")
    return item


def update_channel(p: Ports, who: Principal, channel_id: str, req: ChannelUpdate) -> Channel:
    item = _open_channel(p, channel_id)
    if req.callback_url is not None:
        outbound.check_saved(str(req.callback_url), "callback_url")
    before = keys.channel_data(item)
    changes = req.model_dump(mode="json", exclude_none=True)
    after = {**before, **changes}
    pk, sk = partner_keys.channel(channel_id)
    shown = keys.shown_channel_data(after)
    record = audit.entry(p, who, "channel", channel_id, "update", before=keys.shown_channel_data(before), after=shown)
    with unless_changed("channel", "CHANNEL_CHANGED"):
        change = Update(pk, sk, set={"data": keys.dump_channel_data(after)}, expect=[("data", "=", item["data"])])
        p.store.transact([change, record])
    return Channel.model_validate({**shown, "status": item.get("state")})


def rotate_webhook_secret(p: Ports, who: Principal, channel_id: str, req: WebhookSecretRotate) -> WebhookSecretRotated:
    """A new webhook secret, shown once; the current one keeps signing beside it for the overlap."""
    item = _open_channel(p, channel_id)
    secret = secrets.token_urlsafe(32)
    sealed = p.box().seal_secret(secret, keys.webhook_secret_context(channel_id))
    until = p.now() + timedelta(hours=req.overlap_hours) if req.overlap_hours else None
    data = keys.with_new_webhook_secret(keys.channel_data(item), sealed, until)
    after = {"previous_signs_until": until.isoformat() if until else None}
    record = audit.entry(p, who, "channel", channel_id, "rotate_webhook_secret", after=after, reason=req.reason)
    with unless_changed("channel", "CHANNEL_CHANGED"):
        pk, sk = partner_keys.channel(channel_id)
        change = Update(pk, sk, set={"data": keys.dump_channel_data(data)}, expect=[("data", "=", item["data"])])
        p.store.transact([change, record])
    return WebhookSecretRotated(channel_id=channel_id, webhook_secret=secret, previous_signs_until=until)


def set_channel_state(p: Ports, who: Principal, channel_id: str, action: str, reason: str | None = None) -> Channel:
    if action == "close" and not (reason or "").strip():
        raise InvalidInput("A reason is required to close a channel.", code="REASON_REQUIRED")
    pk, sk = partner_keys.channel(channel_id)
    item = p.store.get(pk, sk)
    if item is None:
        raise NotFound(f"Channel {channel_id} does not exist.", code="CHANNEL_NOT_FOUND")
    current = item.get("state", "active")
    new = states.CHANNEL.next_state(current, action)
    data = keys.channel_data(item)
    if new == "closed":
        data["closed_at"] = p.now().isoformat()
    with unless_changed("channel", "CHANNEL_CHANGED"):
        p.store.transact(
            [
                Update(
                    pk, sk, set={"state": new, "data": keys.dump_channel_data(data)}, expect=[("state", "=", current)]
                ),
                audit.entry(
                    p,
                    who,
                    "channel",
                    channel_id,
                    action,
                    before={"status": current},
                    after={"status": new},
                    reason=reason,
                ),
            ]
        )
    return Channel.model_validate({**keys.shown_channel_data(data), "status": new})
