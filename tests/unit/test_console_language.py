"""What people read from the platform is Simplified Chinese by default and English as a setting:
chat alerts (titled, so DingTalk shows its markdown type, linking to the console's work-order
page), nightly summaries and report columns."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from petcover.config import reset_settings
from petcover.domain import chat, i18n, sla
from petcover.domain.chat import ChatTarget
from petcover.identity import Principal
from petcover.models.sla import ExceptionRaise
from petcover.services import timeline
from petcover.services.sla import check, exceptions, summary
from tests.support.blobs import FakeBlobs
from tests.support.chat import OPS_URL, lookup
from tests.support.clock import Clock

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
PROV = ChatTarget(kind="dingtalk", url="https://oapi.dingtalk.com/robot/send?access_token=a", mention=["138"])
ARGS = {"service_type": "vaccination", "region": "310115", "online": False}


@pytest.fixture
def p(fake_ports, monkeypatch):
    monkeypatch.setenv("OPS_CHAT_URL", OPS_URL)
    monkeypatch.setenv("CONSOLE_BASE_URL", "https://console.example.com/")
    monkeypatch.delenv("PLATFORM_LANGUAGE", raising=False)
    reset_settings()
    fake_ports.clock = Clock(T0)
    fake_ports.blobs = FakeBlobs()
    yield fake_ports
    reset_settings()


def sent(p) -> list[dict]:
    return list(p.publisher.sent.get("alert", []))


def test_a_breach_alert_is_chinese_markdown_linking_to_the_console(p):
    timeline.record(p, order_id="WO-1", provider_id="prov-a", node=sla.ASSIGNED, at=T0, **ARGS)
    p.clock.set(T0 + timedelta(minutes=31))
    check.check_breaches(p, chat=lookup({"prov-a": PROV}))
    (msg,) = sent(p)
    assert msg["title"] == "SLA 超时：工单 WO-1"
    assert msg["text"].startswith("工单 WO-1（vaccination）等待「accepted」已 31m（时限 30m，超时 1m）。 @138")
    assert msg["text"].endswith("[查看工单](https://console.example.com/console/work-orders/WO-1)")
    _url, body = chat.render(ChatTarget.model_validate(msg["target"]), msg["text"], 0, msg["title"])
    assert body["msgtype"] == "markdown" and body["markdown"]["title"] == "SLA 超时：工单 WO-1"
    assert "(https://console.example.com/console/work-orders/WO-1)" in body["markdown"]["text"]


def test_english_is_a_setting(p, monkeypatch):
    monkeypatch.setenv("PLATFORM_LANGUAGE", "en")
    reset_settings()
    timeline.record(p, order_id="WO-2", provider_id="prov-a", node=sla.ASSIGNED, at=T0, **ARGS)
    exceptions.raise_exception(p, Principal("provider", "prov-a"), "WO-2", ExceptionRaise(reason="owner away"))
    (msg,) = sent(p)
    assert msg["title"] == "Work order exception: WO-2"
    assert msg["text"].startswith("Work order WO-2 (vaccination, provider prov-a): exception raised at 'assigned'")
    assert msg["text"].endswith("[Open the work order](https://console.example.com/console/work-orders/WO-2)")


def test_the_exception_alert_and_nightly_summary_in_chinese(p):
    timeline.record(p, order_id="WO-3", provider_id="prov-a", node=sla.ASSIGNED, at=T0, **ARGS)
    exceptions.raise_exception(p, Principal("provider", "prov-a"), "WO-3", ExceptionRaise(reason="联系不上宠物主"))
    assert sent(p)[0]["title"] == "工单异常：WO-3"
    assert "在「assigned」环节上报异常：联系不上宠物主" in sent(p)[0]["text"]
    p.clock.set(datetime(2026, 11, 22, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai
    summary.nightly_summary(p, chat=lookup({"prov-a": PROV}))
    titled = [m for m in sent(p) if m["title"] == "未完结工单日报 2026-11-22"]
    assert len(titled) == 2  # the provider's group and the ops group
    ops = next(m for m in titled if m["target"] is None)
    assert ops["text"].splitlines()[0] == "截至 2026-11-22 22:00 CST 未完结工单：1 (exception_raised 1)。"
    assert "完整清单：GET /ops/sla/reports/summary/2026-11-22/csv" not in ops["text"]  # short: not cut
    body, _ = p.blobs.objects["reports/summary/2026-11-22.csv"]
    header = next(csv.reader(io.StringIO(body.decode())))
    assert header[:3] == ["服务商", "工单号", "服务类型"]


def test_every_message_has_both_languages_and_every_column_a_chinese_name():
    for key, entry in i18n.CATALOGUE.items():
        assert set(entry) == {"zh-CN", "en"}, key
    assert i18n.csv_header("day,rank,unknown\n1,2,3\n") == "日期,排名,unknown\n1,2,3\n"
    assert i18n.csv_header("day,rank\n", "en") == "day,rank\n"
