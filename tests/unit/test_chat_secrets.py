"""Chat contacts carry their DingTalk robot secret: set by the partner, kept sealed beside the
configuration, never shown again, and every message to the robot is signed with it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from petcover.errors import InvalidInput, NotFound
from petcover.identity import Principal
from petcover.models.partners import ChatSecretInput, ConfigInput
from petcover.ports import Ports
from petcover.services import alerts, audit
from petcover.services.alerts import HttpResult
from petcover.services.partners import accounts, changes, chat_secrets, config
from petcover.services.sla import chat_targets
from tests.support.providers import onboard_provider

ROBOT = "https://oapi.dingtalk.com/robot/x"
SECRET = "SEC0123456789abcdef0123456789abcdef"


def _expected_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Robot:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResult:
        self.urls.append(url)
        return HttpResult(200, 4, None, b'{"errcode":0,"errmsg":"ok"}')


def _alert_to_provider(p: Ports, provider_id: str) -> dict[str, Any]:
    target = chat_targets.provider_chat_target(p, provider_id)
    assert target is not None and target.kind == "dingtalk"
    alerts.raise_alert(p, target=target, text="工单 C42 超时", dedupe_key=None)
    [msg] = p.publisher.drain("alert")  # type: ignore[attr-defined]
    return {k: v for k, v in msg.items() if not k.startswith("_")}


def test_a_providers_robot_secret_signs_its_alerts_and_is_never_shown_again(fake_ports) -> None:
    provider_id = onboard_provider(fake_ports, "Clinic A")
    who = Principal("provider", provider_id)
    saved = chat_secrets.save(fake_ports, who, ChatSecretInput(webhook_url=ROBOT, secret=SecretStr(SECRET)))
    assert saved.secret_set and saved.contacts == ["Desk"] and SECRET not in saved.model_dump_json()

    msg = _alert_to_provider(fake_ports, provider_id)
    assert SECRET not in json.dumps(msg)  # queued sealed
    robot = Robot()
    assert alerts.deliver_alert(fake_ports, msg, send=robot) == "sent"
    [url] = robot.urls
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["sign"] == _expected_sign(SECRET, query["timestamp"])  # DingTalk's 加签 check

    # nowhere people read: configuration view, change requests, review queue, audit
    acc = accounts.get_account(fake_ports, provider_id)
    shown = [
        config.view(fake_ports, acc, config.must_live(fake_ports, provider_id)).model_dump_json(),
        json.dumps([c.model_dump(mode="json") for c in changes.list_changes(fake_ports, provider_id)]),
        json.dumps([r.model_dump(mode="json") for r in audit.by_entity(fake_ports, "partner", provider_id)]),
    ]
    for answer in shown:
        assert SECRET not in answer


def test_removing_the_secret_sends_unsigned_again(fake_ports) -> None:
    provider_id = onboard_provider(fake_ports, "Clinic B")
    who = Principal("provider", provider_id)
    chat_secrets.save(fake_ports, who, ChatSecretInput(webhook_url=ROBOT, secret=SecretStr(SECRET)))
    removed = chat_secrets.save(fake_ports, who, ChatSecretInput(webhook_url=ROBOT, secret=None))
    assert not removed.secret_set
    robot = Robot()
    alerts.deliver_alert(fake_ports, _alert_to_provider(fake_ports, provider_id), send=robot)
    assert "sign=" not in robot.urls[0]
    actions = [r.action for r in audit.by_entity(fake_ports, "partner", provider_id)]
    assert "chat_secret_set" in actions and "chat_secret_removed" in actions


def test_only_a_dingtalk_contact_of_the_caller_takes_a_secret(fake_ports) -> None:
    provider_id = onboard_provider(fake_ports, "Clinic C")
    other_id = onboard_provider(fake_ports, "Clinic D")
    who = Principal("provider", provider_id)
    with pytest.raises(NotFound) as unknown:
        chat_secrets.save(
            fake_ports, who, ChatSecretInput(webhook_url="https://oapi.dingtalk.com/robot/y", secret=None)
        )
    assert unknown.value.code == "CONTACT_NOT_FOUND"
    # another provider's robot URL is not the caller's to sign for: the other's alerts stay unsigned
    mine = chat_secrets.save(
        fake_ports, Principal("provider", other_id), ChatSecretInput(webhook_url=ROBOT, secret=SecretStr(SECRET))
    )
    assert mine.secret_set
    robot = Robot()
    alerts.deliver_alert(fake_ports, _alert_to_provider(fake_ports, provider_id), send=robot)
    assert "sign=" not in robot.urls[0]

    slack = ConfigInput.model_validate(
        {
            **config.must_live(fake_ports, provider_id).doc.config.model_dump(mode="json"),
            "contacts": [
                {"name": "Ops", "channel": "slack", "webhook_url": "https://hooks.slack.com/x", "mention": "U1"}
            ],
        }
    )
    changes.request_change(fake_ports, who, slack, "move alerts to Slack")
    with pytest.raises(InvalidInput, match="DingTalk"):
        chat_secrets.save(
            fake_ports, who, ChatSecretInput(webhook_url="https://hooks.slack.com/x", secret=SecretStr(SECRET))
        )


def test_a_secret_must_look_like_dingtalks_and_a_refusal_does_not_echo_it() -> None:
    with pytest.raises(ValidationError) as bad:
        ChatSecretInput(webhook_url=ROBOT, secret=SecretStr("not-a-robot-secret"))
    assert "not-a-robot-secret" not in str(bad.value.errors(include_input=False))
    assert "not-a-robot-secret" not in repr(ChatSecretInput(webhook_url=ROBOT, secret=SecretStr(SECRET + "x")))
