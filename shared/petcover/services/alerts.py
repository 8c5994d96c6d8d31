"""Chat alerts (DingTalk robot or Slack-compatible incoming webhook), sent through the alert queue.

``raise_alert`` only enqueues (one conditional put when a dedupe key is given, so a key alerts
exactly once); the AlertQueue consumer renders the message with ``petcover.domain.chat`` and
POSTs it. A non-2xx answer (or a DingTalk ``errcode`` other than 0) raises, so SQS retries the
message and the AlertDLQ catches it after maxReceiveCount.

``http_post`` is the one outgoing HTTP call of the platform (webhooks use it too):
``petcover.outbound`` checks the destination against the addresses it resolves to and connects to
the one it checked, with a hard timeout; redirects are refused (a 3xx is a failure).
Keys and items: ``petcover.repositories.alerts``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from petcover import outbound
from petcover.config import get_settings
from petcover.domain.chat import ChatTarget, dingtalk_refusal, render
from petcover.errors import StaleWrite
from petcover.models.base import Model
from petcover.observability import logger
from petcover.outbound import HttpResult, Sender
from petcover.ports import Ports
from petcover.repositories import alerts as repo

ALERT_QUEUE = "alert"
MAX_TEXT_CHARS = 4000  # DingTalk and Slack both accept more; long alerts are unreadable anyway
DEDUPE_TTL_SECONDS = 30 * 24 * 3600
SENT_TTL_SECONDS = 7 * 24 * 3600


# ---------------------------------------------------------------- outgoing HTTP


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float = 5.0) -> HttpResult:
    """POST ``body`` where ``petcover.outbound`` allows it; never raises for refusals, HTTP or network failures."""
    return outbound.post(url, body, headers, timeout)


# ---------------------------------------------------------------- raising


class AlertMessage(Model):
    alert_id: str
    text: str
    target: ChatTarget | None = None  # None: the platform ops group, resolved when sending
    dedupe_key: str | None = None
    raised_at: str
    title: str | None = None  # set: a markdown message (DingTalk markdown, a bold first line on Slack)


def infer_kind(url: str) -> Literal["dingtalk", "slack"]:
    lowered = url.lower()
    return "dingtalk" if ("dingtalk" in lowered or "oapi" in lowered) else "slack"


def ops_target() -> ChatTarget | None:
    """The platform operations group (Settings.ops_chat_url), or None when not configured."""
    url = get_settings().ops_chat_url.strip()
    if not url:
        return None
    return ChatTarget(kind=infer_kind(url), url=url)


def raise_alert(
    p: Ports, *, target: ChatTarget | None, text: str, dedupe_key: str | None = None, title: str | None = None
) -> bool:
    """Queue a chat alert. Returns False when it was a duplicate or there is nowhere to send it.

    ``target=None`` sends to the platform ops group. With ``dedupe_key`` exactly one alert is
    sent per key (the key is remembered for 30 days).
    """
    if target is None and ops_target() is None:
        logger.warning("alert not sent: OPS_CHAT_URL is not configured", extra={"alert": text[:200]})
        return False
    now = p.now()
    if dedupe_key is not None:
        try:
            p.store.put(repo.dedupe_item(dedupe_key, int(now.timestamp()) + DEDUPE_TTL_SECONDS), if_absent=True)
        except StaleWrite:
            logger.info("alert deduplicated", extra={"dedupe_key": dedupe_key})
            return False
    msg = AlertMessage(
        alert_id=uuid.uuid4().hex,
        text=text[:MAX_TEXT_CHARS],
        target=target,
        dedupe_key=dedupe_key,
        raised_at=now.isoformat(),
        title=title,
    )
    try:
        p.publisher.send(ALERT_QUEUE, [msg.model_dump(mode="json")])
    except Exception:
        if dedupe_key is not None:  # let a retry of the caller raise it again
            p.store.delete(*repo.dedupe_key(dedupe_key))
        raise
    return True


# ---------------------------------------------------------------- sending (AlertQueue consumer)


def _robot_secret(p: Ports, target: ChatTarget | None) -> str | None:
    """The secret that signs a DingTalk message: the target's (sealed), or the ops group's setting."""
    if target is None:
        return get_settings().ops_chat_secret.get_secret_value() or None
    if target.sealed_secret is None:
        return None
    return p.box().open_secret(target.sealed_secret, dict(target.secret_context))


class AlertDeliveryFailed(RuntimeError):
    """The chat service refused the alert; SQS retries it, then the AlertDLQ keeps it."""


def deliver_alert(p: Ports, message: Mapping[str, Any], *, send: Sender = http_post) -> str:
    """Post one queued alert. Returns "sent" or "duplicate"; raises AlertDeliveryFailed."""
    msg = AlertMessage.model_validate(message)
    if p.store.get(*repo.sent_key(msg.alert_id)) is not None:
        return "duplicate"  # the same SQS message came twice: post once
    target = msg.target or ops_target()
    if target is None:
        raise AlertDeliveryFailed("no chat target: OPS_CHAT_URL is not configured")
    now = p.now()
    secret = _robot_secret(p, msg.target)
    url, payload = render(target, msg.text, int(now.timestamp() * 1000), msg.title, secret=secret)
    result = send(url, json.dumps(payload, ensure_ascii=False).encode(), {}, 5.0)
    if not result.ok:
        raise AlertDeliveryFailed(f"{target.kind} answered {result.describe()}")
    refusal = dingtalk_refusal(result.body) if target.kind == "dingtalk" else None
    if refusal is not None:
        raise AlertDeliveryFailed(refusal)
    p.store.put(repo.sent_item(msg.alert_id, int(now.timestamp()) + SENT_TTL_SECONDS))
    logger.info("alert sent", extra={"alert_id": msg.alert_id, "kind": target.kind})
    return "sent"


__all__ = [
    "AlertDeliveryFailed",
    "AlertMessage",
    "HttpResult",
    "Sender",
    "deliver_alert",
    "http_post",
    "infer_kind",
    "ops_target",
    "raise_alert",
]
