"""Alarms reach people: CloudWatch's notification becomes a zh-CN chat message (DingTalk markdown,
signed when the group has a secret, or Slack), posted once per notification; the metrics the
alarms watch are emitted where they happen."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infra import events as sample_events
from infra.localcloud import fresh_notification
from petcover.api import api, channel
from petcover.config import reset_settings
from petcover.domain import alarms
from petcover.domain.chat import ChatTarget, dingtalk_sign
from petcover.schedules import scheduled_job
from petcover.services import alarms as forwarding
from petcover.services import alerts
from petcover.services.alerts import AlertDeliveryFailed, HttpResult

SHANGHAI = ZoneInfo("Asia/Shanghai")
DING = "https://oapi.dingtalk.com/robot/send?access_token=ops"
SLACK = "https://hooks.slack.com/services/T0/B0/ops"


def sample() -> dict[str, Any]:
    """The SNS notification of events/AlarmForwardFunction.json (what `make fire` sends)."""
    return sample_events.sns_event("AlarmTopic")["Records"][0]["Sns"]  # type: ignore[no-any-return]


def notification(**change: Any) -> dict[str, Any]:
    sns = sample()
    sns["Message"] = json.dumps({**json.loads(sns["Message"]), **change}, ensure_ascii=False)
    return sns


class Sent:
    def __init__(self, status: int = 200, body: bytes = b'{"errcode":0}') -> None:
        self.status, self.body = status, body
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResult:
        self.calls.append((url, json.loads(body)))
        return HttpResult(self.status, 2, None if self.status < 300 else f"HTTP {self.status}", self.body)


@pytest.fixture
def ops_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def set_url(url: str) -> None:
        monkeypatch.setenv("OPS_CHAT_URL", url)
        reset_settings()

    yield set_url
    monkeypatch.undo()
    reset_settings()


def test_an_alarm_notification_reads_as_zh_cn_with_the_time_in_the_business_zone():
    change = alarms.parse(sample()["Message"])
    assert change is not None and change.new_state == "ALARM" and change.old_state == "OK"
    title, text = alarms.render(change, "Asia/Shanghai")
    assert title == "【告警】派单死信队列（DispatchDLQ）有消息：这些预约还没有服务商。"
    assert text.splitlines() == [
        "- 告警：petcover-local-DeadLetterAlarmDispatch-SAMPLE",
        "- 状态：正常 → 告警",
        "- 时间：2026-11-22 22:00:00（Asia/Shanghai）",  # 14:00 UTC
        "- 条件：AWS/SQS ApproximateNumberOfMessagesVisible（QueueName=petcover-local-DispatchDLQ-SAMPLE） "
        "最大值 > 0（60 秒 × 1 个周期）",
        "- 原因：Threshold Crossed: 1 datapoint [3.0 (22/11/26 14:00:00)] was greater than the threshold (0.0).",
        "- 账号 / 区域：000000000000 / US East (N. Virginia)",
    ]


def test_recovery_percentiles_and_anything_else_on_the_topic():
    latency = {
        "AlarmName": "petcover-prod-ApiLatencyAlarm-X",
        "AlarmDescription": "API p95 延迟超过 10 秒（最近 10 分钟里有 3 分钟）。",
        "NewStateValue": "OK",
        "OldStateValue": "ALARM",
        "StateChangeTime": "2026-11-22T16:30:05.123+0000",
        "Trigger": {
            "MetricName": "Latency",
            "Namespace": "AWS/ApiGateway",
            "ExtendedStatistic": "p95",
            "Period": 60,
            "EvaluationPeriods": 10,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 10000.0,
            "Dimensions": [{"name": "ApiName", "value": "petcover-prod"}, {"name": "Stage", "value": "v1"}],
        },
    }
    change = alarms.parse(json.dumps(latency))
    assert change is not None
    title, text = alarms.render(change, "Asia/Shanghai")
    assert title.startswith("【恢复】API p95 延迟超过 10 秒")
    assert "- 状态：告警 → 正常" in text and "2026-11-23 00:30:05" in text
    assert "AWS/ApiGateway Latency（ApiName=petcover-prod, Stage=v1） p95 > 10000（60 秒 × 10 个周期）" in text
    for other in ("not json", json.dumps({"hello": "world"}), json.dumps([1, 2])):
        assert alarms.parse(other) is None
    title, text = alarms.render_other("test", "a message someone published")
    assert (title, text) == ("【告警通知】test", "a message someone published")


def test_forwarded_alarms_are_posted_once_as_slack_text_with_a_bold_title(fake_ports, ops_url):
    ops_url(SLACK)
    sent = Sent(body=b"ok")
    sns = sample()
    assert forwarding.forward(fake_ports, sns, send=sent) == "sent"
    assert forwarding.forward(fake_ports, sns, send=sent) == "duplicate"  # SNS delivered it twice: posted once
    other = notification(NewStateValue="OK", OldStateValue="ALARM")
    other["MessageId"] = "sample-message-2"
    assert forwarding.forward(fake_ports, other, send=sent) == "sent"
    (url, first), (_, second) = sent.calls
    assert url == SLACK
    assert first["text"].startswith("*【告警】派单死信队列（DispatchDLQ）有消息")
    assert "- 状态：正常 → 告警" in first["text"]
    assert second["text"].startswith("*【恢复】") and "- 状态：告警 → 正常" in second["text"]


def test_a_dingtalk_group_gets_signed_markdown(fake_ports):
    """The alert path signs DingTalk posts when the group has a robot secret; alarms use markdown."""
    title, text = forwarding.message_for(sample())
    context = {"purpose": "chat-secret", "url": DING}
    sealed = fake_ports.box().seal_secret("SECops", context)
    target = ChatTarget(
        kind="dingtalk", url=DING, mention=["13800000000"], sealed_secret=sealed, secret_context=tuple(context.items())
    )
    alerts.raise_alert(fake_ports, target=target, text=text, title=title)
    [msg] = fake_ports.publisher.drain("alert")
    sent = Sent()
    assert alerts.deliver_alert(fake_ports, msg, send=sent) == "sent"
    [(url, body)] = sent.calls
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert urllib.parse.quote_plus(q["sign"][0]) == dingtalk_sign("SECops", int(q["timestamp"][0]))
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == title
    assert body["markdown"]["text"] == f"#### {title}\n\n{text}\n\n@13800000000"
    assert body["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}


def test_a_refused_post_raises_so_lambda_retries_and_nothing_is_marked_sent(fake_ports, ops_url):
    ops_url(DING)
    refused = Sent(body=b'{"errcode":310000,"errmsg":"sign not match"}')
    with pytest.raises(AlertDeliveryFailed, match="310000"):
        forwarding.forward(fake_ports, sample(), send=refused)
    ok = Sent()
    assert forwarding.forward(fake_ports, sample(), send=ok) == "sent"  # the retry posts
    assert ok.calls[0][1]["msgtype"] == "markdown"


def test_fire_sends_a_new_notification_each_time():
    first, second = sample(), sample()
    fresh_notification(first)
    fresh_notification(second)
    assert first["MessageId"] != second["MessageId"] != "sample-message-1"
    assert json.loads(first["Message"])["StateChangeTime"].endswith("+0000")
    assert alarms.parse(first["Message"]) is not None


def _emf(out: str) -> list[str]:
    names: list[str] = []
    for line in out.splitlines():
        if '"_aws"' in line:
            doc = json.loads(line)
            names += [m["Name"] for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
    return names


def test_a_refused_partner_signature_counts_for_the_signature_alarm(fake_ports, capsys):
    @api(summary="probe", auth=channel("query", product="policy"), metric="ProbeAnswered")
    def handler(call: Any) -> dict[str, str]:
        return {"ok": "yes"}

    event = {"httpMethod": "GET", "path": "/probe", "resource": "/probe", "body": None}
    capsys.readouterr()
    unsigned = handler({**event, "headers": {}}, None)
    forged = handler(
        {
            **event,
            "headers": {"X-Pc-Key-Id": "k", "X-Pc-Timestamp": "1", "X-Pc-Nonce": "n", "X-Pc-Signature": "00"},
        },
        None,
    )
    assert unsigned["statusCode"] == forged["statusCode"] == 401
    assert _emf(capsys.readouterr().out).count("SignatureRejected") == 2


def test_a_failed_scheduled_run_counts_and_a_finished_one_counts_its_own_metric(fake_ports, capsys):
    calls: list[int] = []

    @scheduled_job("ProbeRan")
    def job(p: Any, event: dict[str, Any]) -> dict[str, int]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the first run breaks")
        return {"done": 1}

    assert job.metric == "ProbeRan"  # type: ignore[attr-defined]
    capsys.readouterr()
    with pytest.raises(RuntimeError):
        job({"detail": {}}, None)
    failed = _emf(capsys.readouterr().out)
    assert "ScheduledJobFailed" in failed and "ProbeRan" not in failed
    job({"detail": {}}, None)
    finished = _emf(capsys.readouterr().out)
    assert "ProbeRan" in finished and "ScheduledJobFailed" not in finished
