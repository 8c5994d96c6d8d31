"""A channel read by staff carries its webhook endpoint's state; the list does not."""

from __future__ import annotations

from petcover.identity import Principal
from petcover.models.catalog import ChannelCreate
from petcover.ports import Ports
from petcover.services import channels
from petcover.services.webhooks import endpoints

SALES = Principal("ops", "sam", ("sales",))
OPS = Principal("ops", "olga", ("ops",))


def _add(p: Ports) -> None:
    channels.add_channel(p, SALES, ChannelCreate(id="shop-a", name="Shop A", callback_url="https://shop-a.example/h"))


def test_a_channel_read_shows_its_webhook_active_then_paused_with_the_reason(fake_ports: Ports) -> None:
    _add(fake_ports)
    first = channels.read_channel(fake_ports, "shop-a").webhook
    assert first is not None and first.state == "active" and first.consecutive_failures == 0

    endpoints.pause(fake_ports, OPS, "shop-a", "their endpoint is down")
    paused = channels.read_channel(fake_ports, "shop-a").webhook
    assert paused is not None and paused.state == "paused"
    assert paused.reason == "their endpoint is down" and paused.changed_by

    assert all(c.webhook is None for c in channels.list_channels(fake_ports))
