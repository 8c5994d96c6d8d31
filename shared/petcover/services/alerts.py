"""Chat alerts (DingTalk robot or Slack-compatible incoming webhook), sent through the alert queue.

``raise_alert`` only enqueues (one conditional put when a dedupe key is given, so a key alerts
exactly once); the AlertQueue consumer renders the message with ``petcover.domain.chat`` and
POSTs it. A non-2xx answer (or a DingTalk ``errcode`` other than 0) raises, so SQS retries the
message and the AlertDLQ catches it after maxReceiveCount.

``http_post`` is the one outgoing HTTP call of the platform (webhooks use it too): urllib,
a hard timeout, redirects refused (a 3xx is a failure, never a hop to another host).
Keys and items: ``petcover.repositories.alerts``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from petcover.config import get_settings
from petcover.domain.chat import ChatTarget, dingtalk_refusal, render
from petcover.errors import StaleWrite
from petcover.observability import logger
from petcover.ports import Ports
from petcover.repositories import alerts as repo

ALERT_QUEUE = "alert"
MAX_TEXT_CHARS = 4000  # DingTalk and Slack both accept more; long alerts are unreadable anyway
DEDUPE_TTL_SECONDS = 30 * 24 * 3600
SENT_TTL_SECONDS = 7 * 24 * 3600
USER_AGENT = "petcover/1"


# ---------------------------------------------------------------- outgoing HTTP


@dataclass(frozen=True)
class HttpResult:
    status: int | None  # None: no HTTP answer (timeout, refused, DNS, TLS)
    latency_ms: int
    error: str | None = None
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else (self.error or "no answer")


Sender = Callable[[str, bytes, Mapping[str, str], float], HttpResult]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


_opener = urllib.request.build_opener(_NoRedirect())


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float = 5.0) -> HttpResult:
    """POST ``body``; never raises for HTTP or network failures (they are in the result)."""
    if not url.startswith(("https://", "http://")):
        return HttpResult(None, 0, "callback URL must be http(s)")
    req = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
    )
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with _opener.open(req, timeout=timeout) as resp:
            data = resp.read(4096)
            return HttpResult(int(resp.status), elapsed(), None, data)
    except urllib.error.HTTPError as exc:
        try:
            data = exc.read(4096)
        except Exception:
            data = b""
        return HttpResult(int(exc.code), elapsed(), f"HTTP {exc.code}", data)
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return HttpResult(None, elapsed(), f"{type(exc).__name__}: {reason}"[:300])


# ---------------------------------------------------------------- raising


class AlertMessage(BaseModel):
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
    url, payload = render(target, msg.text, int(now.timestamp() * 1000), msg.title)
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
