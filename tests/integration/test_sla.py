"""SLA monitoring through the handlers, in-process against moto, with events from events/."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from petcover import runtime
from petcover.config import reset_settings
from petcover.domain import sla
from petcover.identity import Principal
from petcover.models.partners import ConfigInput, DocumentUploadRequest, PartnerCreate
from petcover.ports import Ports
from petcover.services import timeline
from petcover.services.partners import accounts, config, documents
from tests.support import events
from tests.support.calls import call, handler_of

OPS_URL = "https://oapi.dingtalk.com/robot/send?access_token=ops"
PROVIDER_HOOK = "https://oapi.dingtalk.com/robot/send?access_token=clinic"
STAFF = Principal("ops", "setup", ("admin",))
T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def cloud(aws, monkeypatch):
    monkeypatch.setenv("OPS_CHAT_URL", OPS_URL)
    monkeypatch.setenv("PLATFORM_LANGUAGE", "en")  # these tests read the English messages
    reset_settings()
    yield aws
    reset_settings()


def at(moment: datetime) -> Ports:
    """Handlers see this clock (scheduled jobs only: ops tokens and signatures use the real one)."""
    p = runtime.aws_ports()
    p.clock = lambda: moment
    runtime.install(p)
    return p


def real_clock() -> Ports:
    runtime.install(None)
    return runtime.ports()


def drain(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        msgs = got.get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def active_provider(p: Ports, name: str = "Happy Paws Clinic") -> str:
    """A provider onboarded through the partners service, alerting to its DingTalk group."""
    acc = accounts.create_partner(p, STAFF, PartnerCreate(kind="provider", name=name, agreement_ref="AGR-1"))
    who = Principal("provider", acc.id)
    upload = documents.document_upload(
        p, who, DocumentUploadRequest(type="business_licence", file_name="l.pdf", content_type="application/pdf")
    )
    cfg = ConfigInput.model_validate(
        {
            "services": [{"service_type": "vaccination", "mode": "offline_store"}],
            "regions": [{"province": "310000"}],
            "daily_capacity": 20,
            "contacts": [
                {"name": "Desk", "channel": "dingtalk", "webhook_url": PROVIDER_HOOK, "mention": "13800000000"}
            ],
            "documents": [
                {
                    "type": "business_licence",
                    "number": "91310000MA01",
                    "expires_on": "2030-01-01",
                    "file_key": upload.file_key,
                }
            ],
        }
    )
    config.save_draft(p, who, cfg)
    config.submit(p, who)
    config.approve_config(p, STAFF, acc.id)
    return acc.id


def assign(p: Ports, order_id: str, provider_id: str, when: datetime, **kw: Any) -> None:
    args: dict[str, Any] = {"service_type": "vaccination", "region": "310115", "online": False, "owner": "lily"}
    args.update(kw)
    timeline.record(p, order_id=order_id, provider_id=provider_id, node=sla.ASSIGNED, at=when, **args)


def run(function: str, moment: datetime, **event: Any) -> Any:
    at(moment)
    ev = events.schedule(function, time=moment.isoformat().replace("+00:00", "Z"))
    ev.update(event)
    return handler_of(function)(ev, None)


# ---------------------------------------------------------------- configuration over the ops API


def test_ops_configure_the_sla_with_versions_and_refusals(cloud):
    status, body, _ = call("SlaGetConfigFunction", ops=("ops",))
    assert status == 200 and body["is_default"] and body["current"]["version"] == 1
    assert body["effective"][0] == {
        "node": "accepted",
        "service_type": "*",
        "base_seconds": 1800,
        "remote_seconds": 2160,
        "core_seconds": 1620,
        "remote_core_seconds": 1944,
    }

    new = {
        "limits": [
            {"node": "accepted", "minutes": 20},
            {"node": "accepted", "service_type": "vaccination", "minutes": 10},
        ],
        "remote_regions": ["540000"],
        "reason": "peak season",
    }
    status, body, _ = call("SlaPutConfigFunction", body=new, ops=("ops",))
    assert status == 200 and body["changed"] and body["version"]["version"] == 2, body
    assert body["version"]["by"] == "ops:alice"

    status, body, _ = call("SlaPutConfigFunction", body={**new, "expected_version": 1}, ops=("ops",))
    assert status == 409 and body["error"]["code"] == "SLA_CONFIG_CHANGED"
    status, body, _ = call("SlaPutConfigFunction", body={**new, "remote_regions": ["Tibet"]}, ops=("ops",))
    assert status == 400 and body["error"]["code"] == "INVALID_SLA_CONFIG"
    assert body["error"]["details"][0]["field"] == "remote_regions.0"
    status, body, _ = call("SlaPutConfigFunction", body={"limits": [{"node": "accepted", "minutes": -5}]}, ops=("ops",))
    assert status == 400 and body["error"]["code"] == "VALIDATION_FAILED"
    status, body, _ = call("SlaPutConfigFunction", body=new, ops=("sales",))
    assert status == 403 and body["error"]["code"] == "ROLE_REQUIRED"

    status, body, _ = call("SlaGetConfigFunction", ops=("ops",))
    assert status == 200 and not body["is_default"] and body["current"]["version"] == 2
    assert body["current"]["remote_regions"] == ["54"] and [v["version"] for v in body["versions"]] == [2]
    assert timeline.current_config(runtime.ports()).limit_minutes("accepted", "vaccination") == 10


# ---------------------------------------------------------------- minute check: boundary, one alert per breach


def test_breach_alerts_once_to_the_provider_group_through_the_alert_queue(cloud):
    p = at(T0)
    provider_id = active_provider(p)
    assign(p, "WO-1", provider_id, T0)
    due = T0 + timedelta(minutes=30)

    result = run("SlaCheckFunction", due)
    assert result["breaches"] == 0 and drain(cloud["AlertQueue"]) == []

    result = run("SlaCheckFunction", due + timedelta(seconds=1))
    assert result["alerted"] == 1
    again = run("SlaCheckFunction", due + timedelta(seconds=1))
    later = run("SlaCheckFunction", due + timedelta(minutes=3))
    assert again["duplicates"] == 1 and later["duplicates"] == 1
    [msg] = drain(cloud["AlertQueue"])
    assert msg["target"]["url"] == PROVIDER_HOOK and msg["target"]["mention"] == ["13800000000"]
    assert msg["text"] == (
        "SLA breach: work order WO-1 (vaccination) has waited 30m 1s for 'accepted' (limit 30m, 1s over). @13800000000"
        "\n\nOpen the work order: /console/work-orders/WO-1"
    )
    assert msg["title"] == "SLA breach: work order WO-1"  # titled: DingTalk's markdown type


def test_an_unknown_provider_alerts_the_ops_group(cloud):
    p = at(T0)
    assign(p, "WO-2", "prv_unknown", T0, core_provider=True)  # 27 minutes for a core provider
    run("SlaCheckFunction", T0 + timedelta(minutes=27, seconds=1))
    [msg] = drain(cloud["AlertQueue"])
    assert msg["target"] is None and msg["text"].startswith("[provider prv_unknown] SLA breach: work order WO-2")


# ---------------------------------------------------------------- nightly summary and reports


def test_nightly_summary_is_sent_and_kept_and_readable_through_the_api(cloud):
    p = at(T0)
    provider_id = active_provider(p)
    assign(p, "WO-1", provider_id, T0)
    assign(p, "WO-2", "prv_other", T0 + timedelta(hours=1))
    nightly = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)

    result = run("SlaNightlySummaryFunction", nightly)
    assert (result["day"], result["open"], result["provider_groups"], result["ops"]) == ("2026-11-22", 2, 1, 1)
    by_target = {(m["target"] or {}).get("url", "ops"): m["text"] for m in drain(cloud["AlertQueue"])}
    assert by_target[PROVIDER_HOOK].startswith(f"Open work orders for {provider_id} at 2026-11-22 22:00 CST: 1.")
    assert "- WO-2 vaccination: at assigned for 11h" in by_target["ops"]

    s3 = boto3.client("s3", region_name="us-east-1")
    stored = s3.get_object(Bucket=cloud["DocumentBucket"], Key="reports/summary/2026-11-22.csv")["Body"].read()
    assert [r["order_id"] for r in csv.DictReader(io.StringIO(stored.decode()))] == ["WO-1", "WO-2"]

    real_clock()
    status, body, _ = call("SlaListReportsFunction", query={"kind": "summary"}, ops=("ops",))
    assert status == 200 and [e["id"] for e in body["items"]] == ["2026-11-22"], body
    status, body, _ = call(
        "SlaGetReportFunction", path={"kind": "summary", "date": "2026-11-22", "format": "csv"}, ops=("ops",)
    )
    assert status == 200 and body["content_type"] == "text/csv" and body["text"] == stored.decode()
    status, body, _ = call("SlaListReportsFunction", query={"kind": "weekly"}, ops=("ops",))
    assert status == 400


def test_snapshot_and_daily_report_with_a_png_trend(cloud):
    p = at(T0)
    assign(p, "WO-1", "prv_a", T0)
    timeline.record(
        p, order_id="WO-1", provider_id="prv_a", node=sla.ACCEPTED, service_type="vaccination",
        region="310115", online=False, at=T0 + timedelta(minutes=12),
    )  # fmt: skip
    snap = run("SlaSnapshotFunction", T0 + timedelta(minutes=30))
    assert snap["id"] == "2026-11-22T1030" and snap["total"] == 1 and snap["buckets"]["lt_60m"] == 1

    daily = run("SlaDailyReportFunction", datetime(2026, 11, 22, 16, 20, tzinfo=UTC))  # 00:20 on the 23rd
    assert daily["day"] == "2026-11-22" and daily["providers"] == 1 and daily["response_p50"] == 12.0

    real_clock()
    status, body, _ = call(
        "SlaGetReportFunction", path={"kind": "daily", "date": "2026-11-22", "format": "png"}, ops=("ops",)
    )
    assert status == 200 and body["content_type"] == "image/png"
    assert base64.b64decode(body["base64"]).startswith(b"\x89PNG\r\n\x1a\n") and body["legend"]
    status, body, _ = call(
        "SlaGetReportFunction", path={"kind": "snapshot", "date": "2026-11-22T1030", "format": "json"}, ops=("ops",)
    )
    assert status == 200 and json.loads(body["text"])["buckets"]["lt_60m"] == 1
    status, body, _ = call(
        "SlaGetReportFunction", path={"kind": "daily", "date": "2026-11-21", "format": "csv"}, ops=("ops",)
    )
    assert status == 404 and body["error"]["code"] == "REPORT_NOT_FOUND"


def test_daily_backfill_names_its_day(cloud):
    result = run("SlaDailyReportFunction", T0, detail={"date": "2026-11-01"})
    assert result["day"] == "2026-11-01" and result["orders"] == 0


# ---------------------------------------------------------------- exceptions and the timeline


def test_provider_raises_an_exception_ops_handles_it_and_the_timeline_shows_it(cloud):
    p = real_clock()
    provider_id = active_provider(p)
    other_id = active_provider(p, "Other Clinic")
    key = accounts.issue_key(p, STAFF, provider_id)
    other_key = accounts.issue_key(p, STAFF, other_id)
    now = datetime.now(UTC)
    assign(p, "WO-9", provider_id, now - timedelta(minutes=5))

    body = {"reason": "the pet owner did not come"}
    status, out, _ = call(
        "WorkOrderRaiseExceptionFunction", path={"appointmentId": "WO-9"}, body=body,
        key=(other_key.key_id, other_key.secret), idem="x-1",
    )  # fmt: skip
    assert status == 404 and out["error"]["code"] == "WORK_ORDER_NOT_FOUND"
    status, out, _ = call(
        "WorkOrderRaiseExceptionFunction", path={"appointmentId": "WO-9"}, body=body,
        key=(key.key_id, key.secret), idem="e-1",
    )  # fmt: skip
    assert status == 201 and out["state"] == "open" and out["node_before"] == "assigned", out
    status, again, headers = call(
        "WorkOrderRaiseExceptionFunction", path={"appointmentId": "WO-9"}, body=body,
        key=(key.key_id, key.secret), idem="e-1",
    )  # fmt: skip
    assert status == 201 and again == out and headers.get("Idempotency-Replayed") == "true"
    [ops_msg] = drain(cloud["AlertQueue"])
    assert ops_msg["target"] is None and "the pet owner did not come" in ops_msg["text"]

    status, out, _ = call(
        "WorkOrderHandleExceptionFunction", path={"orderId": "WO-9"}, body={"resolution": "rebooked"}, ops=("ops",)
    )
    assert status == 200 and out["state"] == "handled" and out["handled_by"] == "ops:alice"
    status, out, _ = call(
        "WorkOrderHandleExceptionFunction", path={"orderId": "WO-9"}, body={"resolution": "again"}, ops=("ops",)
    )
    assert status == 409 and out["error"]["code"] == "NO_OPEN_EXCEPTION"

    status, view, _ = call("WorkOrderTimelineFunction", path={"orderId": "WO-9"}, ops=("ops",))
    assert status == 200 and view["provider_id"] == provider_id and view["open"]
    assert [n["node"] for n in view["nodes"]] == ["assigned", "exception_raised", "exception_handled"]
    assert view["exceptions"][0]["resolution"] == "rebooked"
    status, view, _ = call("WorkOrderTimelineFunction", path={"orderId": "WO-404"}, ops=("ops",))
    assert status == 404 and view["error"]["code"] == "WORK_ORDER_NOT_FOUND"
