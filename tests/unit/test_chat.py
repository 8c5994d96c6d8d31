from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

import pytest
from pydantic import ValidationError

from petcover.domain import chat

DING_URL = "https://oapi.dingtalk.com/robot/send?access_token=abc123"
SECRET = "SEC0123456789abcdef"
NOW_MS = 1_700_000_000_123


def test_dingtalk_signed_url_matches_documented_formula() -> None:
    url, body = chat.dingtalk_request(DING_URL, SECRET, "SLA breached on C42", ["13800000000"], now_ms=NOW_MS)

    # Independently: sign = urlencode(base64(hmac_sha256(secret, f"{timestamp}\n{secret}")))
    mac = hmac.new(SECRET.encode("utf-8"), f"{NOW_MS}\n{SECRET}".encode(), hashlib.sha256).digest()
    raw_sign = base64.b64encode(mac).decode()

    parsed = urllib.parse.urlsplit(url)
    assert f"{parsed.scheme}://{parsed.netloc}{parsed.path}" == "https://oapi.dingtalk.com/robot/send"
    params = urllib.parse.parse_qs(parsed.query)
    assert params == {"access_token": ["abc123"], "timestamp": [str(NOW_MS)], "sign": [raw_sign]}
    assert url.endswith("&sign=" + urllib.parse.quote_plus(raw_sign))

    assert body == {
        "msgtype": "text",
        "text": {"content": "SLA breached on C42"},
        "at": {"atMobiles": ["13800000000"], "isAtAll": False},
    }


def test_dingtalk_without_secret_leaves_url_alone() -> None:
    url, body = chat.dingtalk_request(DING_URL, None, "hi", [], now_ms=NOW_MS)
    assert url == DING_URL
    assert body["at"] == {"atMobiles": [], "isAtAll": False}


def test_dingtalk_url_without_query_gets_question_mark() -> None:
    url, _ = chat.dingtalk_request("http://127.0.0.1:9000/sink/ding", SECRET, "x", [], now_ms=NOW_MS)
    assert url.startswith(f"http://127.0.0.1:9000/sink/ding?timestamp={NOW_MS}&sign=")


def test_slack_formats() -> None:
    hook = "https://hooks.slack.com/services/T/B/X"
    assert chat.slack_request(hook, "nightly summary", None) == (hook, {"text": "nightly summary"})
    assert chat.slack_request(hook, "SLA breached", "U123") == (hook, {"text": "<@U123> SLA breached"})


def test_render_dispatches_on_kind() -> None:
    ding = chat.ChatTarget(kind="dingtalk", url=DING_URL, mention=["13800000000"])
    assert chat.render(ding, "t", NOW_MS, secret=SECRET) == chat.dingtalk_request(
        DING_URL, SECRET, "t", ["13800000000"], now_ms=NOW_MS
    )
    slack = chat.ChatTarget(kind="slack", url="https://hooks.slack.com/x", mention=["U1", "U2"])
    assert chat.render(slack, "t", NOW_MS) == ("https://hooks.slack.com/x", {"text": "<@U1> <@U2> t"})


def test_chat_target_validation_and_secret_hidden() -> None:
    target = chat.ChatTarget(kind="dingtalk", url=DING_URL, sealed_secret="kms:c2VhbGVk", secret_context=(("a", "b"),))
    assert "c2VhbGVk" not in repr(target)
    assert "secret" not in chat.ChatTarget.model_fields  # a target never holds an opened secret
    with pytest.raises(ValidationError):
        chat.ChatTarget(kind="teams", url=DING_URL)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        chat.ChatTarget(kind="slack", url="ftp://example.com")
