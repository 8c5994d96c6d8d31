"""The alarm forwarder as deployed: its handler, the sample event `make fire` sends, the main table
in moto and a real HTTP chat receiver (the local sink)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import sink, template
from infra.localcloud import fresh_notification
from petcover.config import reset_settings
from tests.support.calls import handler_of


@pytest.fixture
def chat(aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    server = sink.serve(0, tmp_path / "sink.jsonl")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("OPS_CHAT_URL", f"{base}/chat/ops")
    reset_settings()
    try:
        yield base, tmp_path / "sink.jsonl"
    finally:
        server.shutdown()
        server.server_close()
        reset_settings()


def _posted(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _set_mode(base: str, status: int) -> None:
    import urllib.request

    req = urllib.request.Request(f"{base}/_sink/mode", data=json.dumps({"status": status}).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=5):
        pass


def test_the_sample_alarm_reaches_the_ops_chat_once_and_a_refusal_is_retried(chat):
    base, log = chat
    forward = handler_of("AlarmForwardFunction")
    event = json.loads((template.ROOT / "events" / "AlarmForwardFunction.json").read_text())  # what `make fire` sends
    fresh_notification(event["Records"][0]["Sns"])

    _set_mode(base, 503)  # the chat service is down: the invocation fails, so Lambda retries it
    with pytest.raises(Exception, match="HTTP 503"):
        forward(event, None)
    _set_mode(base, 200)
    assert forward(event, None) == {"notifications": 1, "results": ["sent"]}
    assert forward(event, None) == {"notifications": 1, "results": ["duplicate"]}  # SNS delivered it twice

    answered = [r for r in _posted(log) if r["path"] == "/chat/ops"]
    assert [r["answered"] for r in answered] == [503, 200]
    text = json.loads(answered[-1]["body"])["text"]  # a Slack-compatible receiver: bold title, then the lines
    first, *lines = text.splitlines()
    assert first == "*【告警】派单死信队列（DispatchDLQ）有消息：这些预约还没有服务商。*"
    assert lines[0] == "- 告警：petcover-local-DeadLetterAlarmDispatch-SAMPLE"
    assert lines[1] == "- 状态：正常 → 告警"
