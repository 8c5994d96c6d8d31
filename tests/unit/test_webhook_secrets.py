"""A channel can verify our webhooks: its secret is shown once (at creation, at rotation), kept
sealed, and during a rotation's overlap every delivery carries both signatures."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from petcover import signing
from petcover.errors import Conflict, InvalidInput
from petcover.identity import Principal
from petcover.models.catalog import ChannelCreate, ChannelUpdate, WebhookSecretRotate
from petcover.ports import Ports
from petcover.repositories import catalog as channel_keys
from petcover.repositories import partners as partner_keys
from petcover.services import audit, channels
from petcover.services.alerts import HttpResult
from petcover.services.webhooks import delivery, events
from tests.support.clock import Clock

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
STAFF = Principal("ops", "sam", ("sales",))


class Receiver:
    """Answers 200 and keeps each POST's headers and body."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResult:
        self.posts.append((dict(headers), body))
        return HttpResult(200, 5)


@pytest.fixture
def clock(fake_ports: Ports) -> Clock:
    c = Clock(T0)
    fake_ports.clock = c
    return c


def _add(p: Ports, channel_id: str = "shop-a") -> str:
    created = channels.add_channel(
        p, STAFF, ChannelCreate(id=channel_id, name="Shop A", callback_url="https://shop-a.example/hooks")
    )
    assert created.webhook_secret is not None
    return created.webhook_secret


def _deliver(p: Ports, clock: Clock, receiver: Receiver, object_id: str) -> tuple[dict[str, str], bytes]:
    events.notify(
        p,
        channel_id="shop-a",
        object_type="claim",
        object_id=object_id,
        event_type="claim.status_changed",
        payload={"status": "approved"},
    )
    [msg] = p.publisher.drain("webhook")  # type: ignore[attr-defined]
    body = {k: v for k, v in msg.items() if not k.startswith("_")}
    assert delivery.handle_message(p, body, send=receiver) == "delivered"
    return receiver.posts[-1]


def _verifies(secret: str, post: tuple[dict[str, str], bytes], clock: Clock) -> bool:
    headers, body = post
    return signing.verify_webhook(secret, headers, body, now=int(clock().timestamp()))


def test_the_secret_is_shown_once_at_creation_and_signs_every_delivery(fake_ports, clock) -> None:
    secret = _add(fake_ports)
    assert len(secret) >= 40
    post = _deliver(fake_ports, clock, Receiver(), "C1")
    assert _verifies(secret, post, clock)
    assert not _verifies("some-other-secret-000000", post, clock)

    # never again: not in the stored item (sealed), a read, a list, an update answer or the audit
    item = fake_ports.store.get(*partner_keys.channel("shop-a"))
    assert item is not None and secret not in json.dumps(item)
    later = [
        channels.get_channel(fake_ports, "shop-a").model_dump_json(),
        json.dumps([c.model_dump(mode="json") for c in channels.list_channels(fake_ports)]),
        channels.update_channel(fake_ports, STAFF, "shop-a", ChannelUpdate(rate_limit=60)).model_dump_json(),
        json.dumps([r.model_dump(mode="json") for r in audit.by_entity(fake_ports, "channel", "shop-a")]),
    ]
    for answer in later:
        assert secret not in answer and "webhook_secret" not in answer


def test_a_rotation_signs_with_both_secrets_for_the_overlap_then_with_the_new_one_only(fake_ports, clock) -> None:
    old = _add(fake_ports)
    rotated = channels.rotate_webhook_secret(
        fake_ports, STAFF, "shop-a", WebhookSecretRotate(overlap_hours=24, reason="yearly rotation")
    )
    new = rotated.webhook_secret
    assert new != old and rotated.previous_signs_until == T0 + timedelta(hours=24)

    receiver = Receiver()
    during = _deliver(fake_ports, clock, receiver, "C1")
    assert len(signing.webhook_signatures(during[0][signing.SIGNATURE_HEADER])) == 2
    assert _verifies(new, during, clock) and _verifies(old, during, clock)  # the channel may switch any time

    clock.advance(24 * 3600 + 1)
    after = _deliver(fake_ports, clock, receiver, "C2")
    assert len(signing.webhook_signatures(after[0][signing.SIGNATURE_HEADER])) == 1
    assert _verifies(new, after, clock) and not _verifies(old, after, clock)

    [record] = [r for r in audit.by_entity(fake_ports, "channel", "shop-a") if r.action == "rotate_webhook_secret"]
    assert record.reason == "yearly rotation" and new not in record.model_dump_json() and old not in str(record)


def test_no_overlap_stops_the_old_secret_at_once_and_a_second_rotation_drops_the_oldest(fake_ports, clock) -> None:
    first = _add(fake_ports)
    second = channels.rotate_webhook_secret(fake_ports, STAFF, "shop-a", WebhookSecretRotate()).webhook_secret
    third = channels.rotate_webhook_secret(fake_ports, STAFF, "shop-a", WebhookSecretRotate()).webhook_secret
    receiver = Receiver()
    post = _deliver(fake_ports, clock, receiver, "C1")
    assert len(signing.webhook_signatures(post[0][signing.SIGNATURE_HEADER])) == 2  # at most two sign
    assert _verifies(third, post, clock) and _verifies(second, post, clock) and not _verifies(first, post, clock)

    leaked = channels.rotate_webhook_secret(fake_ports, STAFF, "shop-a", WebhookSecretRotate(overlap_hours=0))
    assert leaked.previous_signs_until is None
    post = _deliver(fake_ports, clock, receiver, "C2")
    assert _verifies(leaked.webhook_secret, post, clock)
    assert not _verifies(third, post, clock) and not _verifies(second, post, clock)


def test_a_closed_channel_gets_no_new_secret(fake_ports, clock) -> None:
    _add(fake_ports)
    channels.set_channel_state(fake_ports, STAFF, "shop-a", "close", "contract ended")
    with pytest.raises(Conflict) as closed:
        channels.rotate_webhook_secret(fake_ports, STAFF, "shop-a", WebhookSecretRotate())
    assert closed.value.code == "CHANNEL_CLOSED"


def test_a_sealed_secret_opens_for_its_own_channel_only(fake_ports, clock) -> None:
    """Copying the sealed value onto another channel does not make that channel sign with it."""
    _add(fake_ports, "shop-a")
    _add(fake_ports, "shop-b")
    a = channel_keys.channel_data(fake_ports.store.get(*partner_keys.channel("shop-a")) or {})
    sealed = a[channel_keys.WEBHOOK_SECRET]
    fake_ports.box().open_secret(sealed, channel_keys.webhook_secret_context("shop-a"))
    with pytest.raises(ValueError):
        fake_ports.box().open_secret(sealed, channel_keys.webhook_secret_context("shop-b"))


def test_closing_a_channel_needs_a_reason_kept_in_the_audit(fake_ports, clock) -> None:
    _add(fake_ports)
    for missing in (None, "", "   "):
        with pytest.raises(InvalidInput) as refused:
            channels.set_channel_state(fake_ports, STAFF, "shop-a", "close", missing)
        assert refused.value.code == "REASON_REQUIRED"
    channels.set_channel_state(fake_ports, STAFF, "shop-a", "close", "contract ended")
    [closed] = [r for r in audit.by_entity(fake_ports, "channel", "shop-a") if r.action == "close"]
    assert closed.reason == "contract ended"
