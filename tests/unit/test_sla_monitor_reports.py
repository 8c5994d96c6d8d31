"""SLA reports with fake ports on a controlled clock: the 22:00 summary, snapshots, the daily report."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from infra import template
from petcover.config import reset_settings
from petcover.domain import sla
from petcover.domain.chat import ChatTarget
from petcover.errors import InvalidInput, NotFound
from petcover.models.sla import ReportQuery
from petcover.services import timeline
from petcover.services.sla import check, daily, reports, snapshot, summary
from tests.support.blobs import FakeBlobs
from tests.support.chat import OPS_URL, lookup
from tests.support.clock import Clock

SUMMARY_AT = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
PROV_A = ChatTarget(kind="dingtalk", url="https://oapi.dingtalk.com/robot/send?access_token=a", mention=["138"])


@pytest.fixture
def p(fake_ports, monkeypatch):
    monkeypatch.setenv("OPS_CHAT_URL", OPS_URL)
    monkeypatch.setenv("PLATFORM_LANGUAGE", "en")  # these tests read the English messages
    monkeypatch.setenv("BUSINESS_TIMEZONE", "Asia/Shanghai")
    reset_settings()
    fake_ports.clock = Clock(SUMMARY_AT)
    fake_ports.blobs = FakeBlobs()
    yield fake_ports
    reset_settings()


def record(p, order_id: str, node: str, at: datetime, *, provider: str = "prov-a", **kw: Any) -> None:
    args: dict[str, Any] = {"service_type": "vaccination", "region": "310115", "online": False, "owner": "lily"}
    args.update(kw)
    timeline.record(p, order_id=order_id, provider_id=provider, node=node, at=at, **args)


def alerts_sent(p) -> list[dict[str, Any]]:
    return list(p.publisher.sent.get("alert", []))


# ---------------------------------------------------------------- schedules (read from template.yaml)


def test_schedules_in_the_template():
    by_function = {s.function: s for s in template.schedules()}
    summary = by_function["SlaNightlySummaryFunction"]
    assert (summary.expression, summary.timezone) == ("cron(0 22 * * ? *)", "Asia/Shanghai")
    assert summary.handler == "sla.summary.handler"
    check = by_function["SlaCheckFunction"]
    assert check.expression in ("rate(1 minute)", "cron(* * * * ? *)")
    snapshot = by_function["SlaSnapshotFunction"]
    assert (snapshot.expression, snapshot.timezone) == ("cron(0/30 * * * ? *)", "Asia/Shanghai")
    daily = by_function["SlaDailyReportFunction"]
    assert (
        daily.timezone == "Asia/Shanghai" and daily.expression.startswith("cron(") and " 0 * * ? *)" in daily.expression
    )


def test_report_writers_may_write_only_under_reports():
    fns = template.functions()
    for name, prefix in (
        ("SlaNightlySummaryFunction", "reports/summary/*"),
        ("SlaSnapshotFunction", "reports/snapshot/*"),
        ("SlaDailyReportFunction", "reports/daily/*"),
    ):
        statements = [s for pol in fns[name]["Properties"]["Policies"] if "Statement" in pol for s in pol["Statement"]]
        assert [s["Action"] for s in statements] == ["s3:PutObject"]
        assert statements[0]["Resource"]["Fn::Sub"].endswith(f"${{DocumentBucket}}/{prefix}")
    queues = [
        pol["SQSSendMessagePolicy"]["QueueName"]["Fn::GetAtt"][0]
        for pol in fns["SlaCheckFunction"]["Properties"]["Policies"]
        if "SQSSendMessagePolicy" in pol
    ]
    assert queues == ["AlertQueue"]


# ---------------------------------------------------------------- nightly summary


def seed_open_orders(p) -> None:
    record(p, "WO-1", sla.ASSIGNED, SUMMARY_AT - timedelta(hours=5))
    record(p, "WO-1", sla.ACCEPTED, SUMMARY_AT - timedelta(hours=4))
    record(p, "WO-2", sla.ASSIGNED, SUMMARY_AT - timedelta(minutes=10), owner="")
    record(p, "WO-3", sla.ASSIGNED, SUMMARY_AT - timedelta(hours=2), provider="prov-x", service_type="deworming_kit")
    record(p, "WO-4", sla.ASSIGNED, SUMMARY_AT - timedelta(hours=1))
    record(p, "WO-4", sla.COMPLETED, SUMMARY_AT - timedelta(minutes=30))  # closed: not in the summary


def test_the_summary_goes_to_each_provider_group_and_ops_and_is_kept_as_csv(p):
    seed_open_orders(p)
    result = summary.nightly_summary(p, chat=lookup({"prov-a": PROV_A}))
    assert result == {
        "day": "2026-11-22",
        "open": 3,
        "providers": 2,
        "provider_groups": 1,
        "ops": 1,
        "duplicates": 0,
        "no_group": 1,
    }

    by_target = {(m["target"] or {}).get("url", "ops"): m for m in alerts_sent(p)}
    assert set(by_target) == {PROV_A.url, "ops"}
    provider_text = by_target[PROV_A.url]["text"]
    assert provider_text.splitlines()[0] == "Open work orders for prov-a at 2026-11-22 22:00 CST: 2."
    assert "- WO-1 vaccination: at accepted for 4h, open 5h, owner lily" in provider_text
    assert "WO-3" not in provider_text  # another provider's order
    ops_text = by_target["ops"]["text"]
    assert ops_text.splitlines()[0] == "Open work orders at 2026-11-22 22:00 CST: 3 (assigned 2, accepted 1)."
    assert "prov-x: 1 open (assigned 1)" in ops_text and "- WO-3 deworming_kit: at assigned for 2h" in ops_text
    assert "WO-4" not in ops_text

    body, content_type = p.blobs.objects["reports/summary/2026-11-22.csv"]
    assert content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [(r["provider_id"], r["order_id"], r["node"], r["waiting_minutes"]) for r in rows] == [
        ("prov-a", "WO-1", "accepted", "240"),
        ("prov-a", "WO-2", "assigned", "10"),
        ("prov-x", "WO-3", "assigned", "120"),
    ]
    [entry] = reports.list_reports(p, ReportQuery(kind="summary")).items
    assert (entry.id, entry.day, entry.stats["total"], entry.formats) == (
        "2026-11-22",
        date(2026, 11, 22),
        3,
        ["csv", "json"],
    )


def test_a_rerun_of_the_summary_sends_nothing_twice(p):
    seed_open_orders(p)
    chat = lookup({"prov-a": PROV_A})
    summary.nightly_summary(p, chat=chat)
    again = summary.nightly_summary(p, chat=chat)
    assert again["duplicates"] == 1 and again["ops"] == 0
    assert len(alerts_sent(p)) == 2


def test_no_open_orders_still_tells_ops(p):
    result = summary.nightly_summary(p, chat=lookup({}))
    [msg] = alerts_sent(p)
    assert result["open"] == 0 and msg["target"] is None
    assert msg["text"] == "Open work orders at 2026-11-22 22:00 CST: none."


def test_a_long_summary_is_cut_for_chat_and_points_to_the_csv(p):
    for i in range(150):
        record(p, f"WO-{i:03d}", sla.ASSIGNED, SUMMARY_AT - timedelta(minutes=i + 1))
    summary.nightly_summary(p, chat=lookup({}))
    [msg] = alerts_sent(p)
    assert len(msg["text"]) <= summary.CHAT_TEXT_LIMIT
    assert msg["text"].endswith("Full list: GET /ops/sla/reports/summary/2026-11-22/csv")
    csv_rows = p.blobs.objects["reports/summary/2026-11-22.csv"][0].decode().splitlines()
    assert len(csv_rows) == 151  # the file has everything


# ---------------------------------------------------------------- snapshot


def test_snapshot_counts_work_in_flight_by_time_left(p):
    now = SUMMARY_AT
    record(p, "WO-LATE", sla.ASSIGNED, now - timedelta(minutes=40))  # due 10 minutes ago
    record(p, "WO-SOON", sla.ASSIGNED, now - timedelta(minutes=20))  # 10 minutes left
    record(p, "WO-LATER", sla.ASSIGNED, now - timedelta(minutes=1), online=True)  # 29 minutes left
    record(p, "WO-SHIP", sla.ACCEPTED, now, online=True)  # shipped within 120 minutes
    record(p, "WO-DONE", sla.SERVED, now)  # no limit on completion by default
    p.clock.set(now + timedelta(seconds=5))
    result = snapshot.take_snapshot(p)
    assert result["id"] == "2026-11-22T2200"
    assert result["buckets"] == {"overdue": 1, "lt_15m": 1, "lt_60m": 1, "later": 1, "no_limit": 1}
    stored = json.loads(p.blobs.objects["reports/snapshot/2026-11-22/2200.json"][0])
    assert stored["overdue_orders"] == ["WO-LATE"] and stored["total"] == 5
    [entry] = reports.list_reports(p, ReportQuery(kind="snapshot", date="2026-11-22")).items
    assert entry.id == "2026-11-22T2200" and entry.stats["overdue"] == 1
    item = p.store.get("SLAREPORT#snapshot", "2026-11-22T2200")
    assert item["expires_at"] > int((now + timedelta(days=89)).timestamp())


# ---------------------------------------------------------------- daily timeliness report

SH = timedelta(hours=8)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as UTC (the timeline stores UTC)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - SH


DAY = date(2026, 11, 21)


def seed_day(p) -> None:
    # prov-a: accepts in 10 and 20 minutes, completes one in 2 hours; no breach.
    record(p, "A1", sla.ASSIGNED, local(DAY, 9))
    record(p, "A1", sla.ACCEPTED, local(DAY, 9, 10))
    record(p, "A1", sla.COMPLETED, local(DAY, 11, 10))
    record(p, "A2", sla.ASSIGNED, local(DAY, 0, 5))  # 00:05 local = the day before in UTC
    record(p, "A2", sla.ACCEPTED, local(DAY, 0, 25))
    record(p, "A2", sla.COMPLETED, local(DAY, 0, 55))
    # prov-b (remote region): accepts in 50 minutes (a breach) and once in 5.
    record(p, "B1", sla.ASSIGNED, local(DAY, 14), provider="prov-b", region="540102")
    record(p, "B2", sla.ASSIGNED, local(DAY, 15), provider="prov-b", region="540102")
    record(p, "B2", sla.ACCEPTED, local(DAY, 15, 5), provider="prov-b", region="540102")
    # Assigned two days before, accepted on the day: its response sample needs the order's history.
    record(p, "B3", sla.ASSIGNED, local(DAY - timedelta(days=2), 23, 50), provider="prov-b", region="540102")
    record(p, "B3", sla.ACCEPTED, local(DAY, 0, 20), provider="prov-b", region="540102")
    record(p, "B3", sla.COMPLETED, local(DAY, 0, 40), provider="prov-b", region="540102")
    # Outside the day: ignored.
    record(p, "C1", sla.ASSIGNED, local(DAY + timedelta(days=1), 1), provider="prov-c")


def test_daily_report_per_provider_and_region_with_breaches_from_the_check(p):
    seed_day(p)
    p.clock.set(local(DAY, 14, 31))
    check.check_breaches(p, chat=lookup({}))  # B1 is late for 'accepted'
    record(p, "B1", sla.ACCEPTED, local(DAY, 14, 50), provider="prov-b", region="540102")

    p.clock.set(local(DAY + timedelta(days=1), 0, 20))
    result = daily.daily_timeliness(p)
    assert result["day"] == "2026-11-21" and result["providers"] == 2 and result["regions"] == 2

    doc = json.loads(p.blobs.objects["reports/daily/2026-11-21.json"][0])
    rows = {r["provider_id"]: r for r in doc["providers"]}
    a, b = rows["prov-a"], rows["prov-b"]
    assert (a["orders"], a["accepted"], a["completed"], a["breaches"], a["rank"]) == (2, 2, 2, 0, 1)
    assert (a["response_p50"], a["response_p90"]) == (10.0, 20.0)
    assert (a["processing_p50"], a["processing_p90"]) == (30.0, 120.0)
    assert (b["orders"], b["accepted"], b["breaches"], b["rank"]) == (3, 3, 1, 2)
    assert b["breach_rate"] == round(1 / 3, 4)
    # B3's sample (24h 30m) needs its 'assigned' from two days before: read from its own history.
    assert (b["response_p50"], b["response_p90"]) == (50.0, 1470.0)
    regions = {r["provider_id"]: r for r in doc["regions"]}
    assert set(regions) == {"310115", "540102"} and regions["540102"]["breaches"] == 1
    assert doc["overall"]["orders"] == 5 and doc["overall"]["breaches"] == 1

    text = p.blobs.objects["reports/daily/2026-11-21.csv"][0].decode()
    table = list(csv.DictReader(io.StringIO(text)))
    assert [(r["scope"], r["provider_id"], r["region"], r["rank"]) for r in table] == [
        ("provider", "prov-a", "310115", "1"),
        ("provider", "prov-b", "540102", "2"),
        ("region", "", "310115", "1"),
        ("region", "", "540102", "2"),
        ("overall", "", "", "1"),
    ]
    png = p.blobs.objects["reports/daily/2026-11-21.png"][0]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_trend_chart_covers_the_previous_daily_reports(p):
    for back in (3, 2, 1):
        p.clock.set(local(DAY + timedelta(days=1 - back + 1), 0, 20))
        daily.daily_timeliness(p)
    item = p.store.get("SLAREPORT#daily", "2026-11-21")
    stored = json.loads(item["data"])
    assert stored["stats"]["trend_days"] == ["2026-11-19", "2026-11-20", "2026-11-21"]
    assert stored["legend"] == {
        "breach_rate_pct": "#1f77b4",
        "response_p50_min": "#d62728",
        "response_p90_min": "#2ca02c",
        "processing_p90_h": "#ff7f0e",
    }


def test_a_backfill_names_its_day():
    assert daily.day_from_event({"detail": {"date": "2026-11-01"}}) == date(2026, 11, 1)
    assert daily.day_from_event({"date": "2026-11-02"}) == date(2026, 11, 2)
    assert daily.day_from_event({"detail": {}}) is None
    with pytest.raises(InvalidInput):
        daily.day_from_event({"date": "yesterday"})


# ---------------------------------------------------------------- reading reports


def test_report_files_csv_as_text_png_as_base64(p):
    seed_day(p)
    p.clock.set(local(DAY + timedelta(days=1), 0, 20))
    daily.daily_timeliness(p)
    csv_file = reports.get_report(p, "daily", "2026-11-21", "csv")
    assert csv_file.content_type == "text/csv" and (csv_file.text or "").startswith("scope,day,rank,provider_id")
    png_file = reports.get_report(p, "daily", "2026-11-21", "png")
    assert base64.b64decode(png_file.base64 or "") == p.blobs.objects["reports/daily/2026-11-21.png"][0]
    assert png_file.legend and "breach_rate_pct" in png_file.legend and png_file.text is None

    with pytest.raises(NotFound) as exc:
        reports.get_report(p, "daily", "2026-11-20", "csv")
    assert exc.value.code == "REPORT_NOT_FOUND"
    summary.nightly_summary(p, chat=lookup({}))
    with pytest.raises(NotFound) as exc:
        reports.get_report(p, "summary", "2026-11-22", "png")
    assert exc.value.code == "REPORT_FORMAT_NOT_AVAILABLE"
    with pytest.raises(InvalidInput) as bad:
        reports.get_report(p, "weekly", "last", "xls")
    assert {d["field"] for d in bad.value.details} == {"kind", "date", "format"}


def test_listing_reports_newest_first(p):
    for d in (18, 19, 20):
        p.clock.set(local(date(2026, 11, d + 1), 0, 20))
        daily.daily_timeliness(p)
    listed = reports.list_reports(p, ReportQuery(kind="daily", limit=2))
    assert [e.id for e in listed.items] == ["2026-11-20", "2026-11-19"] and listed.cursor
    rest = reports.list_reports(p, ReportQuery(kind="daily", limit=2, cursor=listed.cursor))
    assert [e.id for e in rest.items] == ["2026-11-18"]
    only = reports.list_reports(p, ReportQuery(kind="daily", date="2026-11-19"))
    assert [e.id for e in only.items] == ["2026-11-19"]
