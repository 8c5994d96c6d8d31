"""Chat alerts: dedupe, ops-group target inference, rendering and posting, retries on refusal."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from petcover.config import reset_settings
from petcover.domain.chat import ChatTarget, dingtalk_sign
from petcover.ports import Ports
from petcover.services import alerts
from petcover.services.alerts import AlertDeliveryFailed, HttpResult

DING = "https://oapi.dingtalk.com/robot/send?access_token=abc"
SLACK = "https://hooks.slack.com/services/T0/B0/xyz"


@pytest.fixture
def ops_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def set_url(url: str) -> None:
        monkeypatch.setenv("OPS_CHAT_URL", url)
        reset_settings()

    reset_settings()
    yield set_url
    monkeypatch.undo()
    reset_settings()


class Sent:
    def __init__(self, status: int = 200, body: bytes = b"ok") -> None:
        self.status, self.body = status, body
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResult:
        self.calls.append((url, json.loads(body)))
        return HttpResult(self.status, 3, None if self.status < 300 else f"HTTP {self.status}", self.body)


def queued(p: Ports) -> list[dict[str, Any]]:
    return [{k: v for k, v in m.items() if not k.startswith("_")} for m in p.publisher.drain("alert")]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (DING, "dingtalk"),
        ("https://oapi.example.cn/robot/send?access_token=1", "dingtalk"),
        ("https://im.DingTalk.com/hook", "dingtalk"),
        (SLACK, "slack"),
        ("https://chat.internal/hooks/ops", "slack"),
    ],
)
def test_kind_is_inferred_from_the_url(url: str, kind: str) -> None:
    assert alerts.infer_kind(url) == kind


def test_a_dedupe_key_alerts_exactly_once(fake_ports, ops_url) -> None:
    ops_url(SLACK)
    assert alerts.raise_alert(fake_ports, target=None, text="disk full", dedupe_key="disk:1") is True
    assert alerts.raise_alert(fake_ports, target=None, text="disk full again", dedupe_key="disk:1") is False
    assert alerts.raise_alert(fake_ports, target=None, text="other", dedupe_key="disk:2") is True
    assert alerts.raise_alert(fake_ports, target=None, text="no key") is True
    assert alerts.raise_alert(fake_ports, target=None, text="no key") is True
    assert [m["text"] for m in queued(fake_ports)] == ["disk full", "other", "no key", "no key"]


def test_concurrent_raises_with_one_key_queue_one_alert(fake_ports, ops_url) -> None:
    ops_url(SLACK)
    results: list[bool] = []
    lock = threading.Lock()

    def go() -> None:
        r = alerts.raise_alert(fake_ports, target=None, text="x", dedupe_key="race")
        with lock:
            results.append(r)

    threads = [threading.Thread(target=go) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1 and len(queued(fake_ports)) == 1


def test_without_an_ops_chat_url_nothing_is_queued(fake_ports, ops_url) -> None:
    ops_url("")
    assert alerts.raise_alert(fake_ports, target=None, text="x", dedupe_key="k") is False
    assert queued(fake_ports) == []
    # An explicit target still works.
    target = ChatTarget(kind="slack", url=SLACK)
    assert alerts.raise_alert(fake_ports, target=target, text="x", dedupe_key="k") is True


def test_a_failed_enqueue_releases_the_dedupe_key(fake_ports, ops_url) -> None:
    ops_url(SLACK)

    class Down:
        def send(self, *a: Any, **k: Any) -> None:
            raise RuntimeError("SQS down")

    real = fake_ports.publisher
    fake_ports.publisher = Down()
    with pytest.raises(RuntimeError):
        alerts.raise_alert(fake_ports, target=None, text="x", dedupe_key="k")
    fake_ports.publisher = real
    assert alerts.raise_alert(fake_ports, target=None, text="x", dedupe_key="k") is True


def test_a_dingtalk_alert_is_posted_with_a_signed_query_and_queued_with_the_secret_sealed(fake_ports, ops_url) -> None:
    ops_url(DING)
    context = {"purpose": "chat-secret", "owner": "prv_1", "robot": "r"}
    sealed = fake_ports.box().seal_secret("SECabc", context)
    target = ChatTarget(
        kind="dingtalk", url=DING, mention=["13800000000"], sealed_secret=sealed, secret_context=tuple(context.items())
    )
    alerts.raise_alert(fake_ports, target=target, text="SLA breached on C42", dedupe_key=None)
    [msg] = queued(fake_ports)
    assert "SECabc" not in json.dumps(msg)  # the queue carries the secret sealed
    sent = Sent(body=b'{"errcode":0,"errmsg":"ok"}')
    assert alerts.deliver_alert(fake_ports, msg, send=sent) == "sent"
    [(url, body)] = sent.calls
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    ts = int(q["timestamp"][0])
    assert q["access_token"] == ["abc"]
    assert urllib.parse.quote_plus(q["sign"][0]) == dingtalk_sign("SECabc", ts)
    assert body == {
        "msgtype": "text",
        "text": {"content": "SLA breached on C42"},
        "at": {"atMobiles": ["13800000000"], "isAtAll": False},
    }


def test_the_ops_group_is_signed_with_its_configured_secret(fake_ports, ops_url, monkeypatch) -> None:
    monkeypatch.setenv("OPS_CHAT_SECRET", "SECops0123456789")
    ops_url(DING)
    alerts.raise_alert(fake_ports, target=None, text="webhook dead", dedupe_key=None)
    [msg] = queued(fake_ports)
    assert "SECops" not in json.dumps(msg)  # resolved when sending, never queued
    sent = Sent(body=b'{"errcode":0}')
    assert alerts.deliver_alert(fake_ports, msg, send=sent) == "sent"
    [(url, _)] = sent.calls
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert urllib.parse.quote_plus(q["sign"][0]) == dingtalk_sign("SECops0123456789", int(q["timestamp"][0]))


def test_the_ops_group_is_resolved_when_sending_over_real_http(fake_ports, ops_url, tmp_path) -> None:
    from infra import sink

    server = sink.serve(0, tmp_path / "sink.jsonl")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ops_url(f"http://127.0.0.1:{server.server_address[1]}/chat/ops")
        alerts.raise_alert(fake_ports, target=None, text="webhook endpoint paused", dedupe_key="p1")
        [msg] = queued(fake_ports)
        assert msg["target"] is None
        assert alerts.deliver_alert(fake_ports, msg) == "sent"
        assert alerts.deliver_alert(fake_ports, msg) == "duplicate"  # same SQS message twice
    finally:
        server.shutdown()
        server.server_close()
    [req] = [json.loads(line) for line in (tmp_path / "sink.jsonl").read_text().splitlines()]
    assert req["path"] == "/chat/ops"
    assert json.loads(req["body"]) == {"text": "webhook endpoint paused"}  # Slack-compatible


def test_a_refusal_raises_so_sqs_retries(fake_ports, ops_url) -> None:
    ops_url(SLACK)
    alerts.raise_alert(fake_ports, target=None, text="x")
    [msg] = queued(fake_ports)
    with pytest.raises(AlertDeliveryFailed, match="HTTP 500"):
        alerts.deliver_alert(fake_ports, msg, send=Sent(status=500))
    # Not marked sent: the retry posts.
    ok = Sent()
    assert alerts.deliver_alert(fake_ports, msg, send=ok) == "sent"
    assert len(ok.calls) == 1


def test_a_dingtalk_error_code_in_a_200_raises(fake_ports, ops_url) -> None:
    ops_url(DING)
    alerts.raise_alert(fake_ports, target=None, text="x")
    [msg] = queued(fake_ports)
    refused = Sent(body=b'{"errcode":310000,"errmsg":"sign not match"}')
    with pytest.raises(AlertDeliveryFailed, match="310000"):
        alerts.deliver_alert(fake_ports, msg, send=refused)


def test_long_texts_are_cut(fake_ports, ops_url) -> None:
    ops_url(SLACK)
    alerts.raise_alert(fake_ports, target=None, text="x" * 10_000)
    [msg] = queued(fake_ports)
    assert len(msg["text"]) == alerts.MAX_TEXT_CHARS
