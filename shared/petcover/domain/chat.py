"""Chat alert formats (DingTalk custom robot, Slack incoming webhook). Pure: builds, never sends."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import quote_plus, urlencode

from pydantic import ConfigDict, Field, field_validator

from petcover.models.base import Model


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk robot "加签": base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")), URL-encoded."""
    string_to_sign = f"{timestamp_ms}\n{secret}"
    digest = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def _with_query(url: str, extra: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{extra}"


def dingtalk_request(
    webhook_url: str,
    secret: str | None,
    text: str,
    mention_mobiles: list[str],
    *,
    now_ms: int,
    title: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """A text message, or with ``title`` a markdown one (``text`` is then markdown)."""
    url = webhook_url
    if secret:
        # sign is already URL-encoded, so it is appended as is (not passed through urlencode again).
        url = _with_query(url, f"{urlencode({'timestamp': now_ms})}&sign={dingtalk_sign(secret, now_ms)}")
    at = {"atMobiles": list(mention_mobiles), "isAtAll": False}
    if title:
        # In markdown DingTalk notifies only the mobiles that also appear in the text.
        tags = " ".join(f"@{m}" for m in mention_mobiles if m)
        body_text = f"#### {title}\n\n{text}" + (f"\n\n{tags}" if tags else "")
        return url, {"msgtype": "markdown", "markdown": {"title": title, "text": body_text}, "at": at}
    return url, {"msgtype": "text", "text": {"content": text}, "at": at}


def slack_request(
    webhook_url: str, text: str, mention: str | Sequence[str] | None, title: str | None = None
) -> tuple[str, dict[str, Any]]:
    """Slack incoming webhook; mentions are user ids rendered as ``<@U123>`` before the text."""
    mentions = [mention] if isinstance(mention, str) else list(mention or [])
    prefix = " ".join(f"<@{m}>" for m in mentions if m)
    if title:
        text = f"*{title}*\n{text}"
    return webhook_url, {"text": f"{prefix} {text}" if prefix else text}


class ChatTarget(Model):
    """Where a chat alert goes. Targets travel on the alert queue, so a DingTalk robot's secret is
    carried sealed (with the context it opens with) and opened only by the sender."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["dingtalk", "slack"]
    url: str
    mention: list[str] = Field(default_factory=list)  # DingTalk: mobiles; Slack: user ids
    sealed_secret: str | None = Field(default=None, repr=False)
    secret_context: tuple[tuple[str, str], ...] = Field(default=(), repr=False)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("url must start with http:// or https://")
        return value


def render(
    target: ChatTarget, text: str, now_ms: int, title: str | None = None, *, secret: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The URL and body of one message; ``secret`` (a DingTalk robot's, opened) signs it."""
    if target.kind == "dingtalk":
        return dingtalk_request(target.url, secret, text, target.mention, now_ms=now_ms, title=title)
    return slack_request(target.url, text, target.mention, title)


def dingtalk_refusal(answer_body: bytes) -> str | None:
    """Why DingTalk refused a post it answered 200, or None when it took it.

    DingTalk answers 200 with {"errcode": 310000, ...} for a bad signature or keyword.
    """
    try:
        answer = json.loads(answer_body or b"{}")
    except ValueError:
        answer = {}
    if isinstance(answer, dict) and answer.get("errcode", 0) not in (0, "0"):
        return f"dingtalk errcode {answer.get('errcode')}: {answer.get('errmsg')}"
    return None
