"""Money through the handlers, in-process against moto, with events from events/: settlement run, files
and receipt; maker-checker requests; fee schedule; nightly reconciliation and its report; exports."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from petcover import runtime
from petcover.config import reset_settings
from petcover.domain import calendar
from petcover.identity import Principal
from petcover.services import policies
from tests.support.calls import call, handler_of, ops_headers
from tests.support.fixtures import catalogue
from tests.support.policies import underwrite_request

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(aws, monkeypatch):
    monkeypatch.setenv("OPS_CHAT_URL", "https://oapi.dingtalk.com/robot/send?access_token=ops")
    reset_settings()
    p = runtime.ports()
    catalogue(p, ("shop-a",))
    now = datetime.now(SHANGHAI)
    last_day = now.replace(day=1, hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    pol = policies.underwrite(p, Principal("channel", "shop-a"), underwrite_request("int-1", sold_at=last_day))
    yield p, pol, last_day.strftime("%Y-%m"), now
    reset_settings()


def test_settlement_run_files_and_receipt_through_the_handlers(world):
    _, pol, month, _ = world
    body = {"party": "channel", "party_id": "shop-a", "month": month}
    status, _, _ = call("RunSettlementFunction", body=body, ops=("sales",), idem="run-0")
    assert status == 403
    status, s, _ = call("RunSettlementFunction", body=body, ops=("finance",), idem="run-1")
    assert status == 201 and s["receivables"] == str(pol.premium), s
    sid = s["settlement_id"]
    status, f, _ = call("SettlementFileFunction", path={"settlementId": sid, "format": "xlsx"}, ops=("finance",))
    assert status == 200 and base64.b64decode(f["content"])[:2] == b"PK"
    status, _, _ = call(
        "SettlementFileFunction", path={"settlementId": "channel.nope.2020-01", "format": "csv"}, ops=("finance",)
    )
    assert status == 404
    path = {"settlementId": sid, "action": "confirm-receipt"}
    status, done, _ = call(
        "SettlementActionFunction", path=path, body={"reference": "bank"}, ops=("finance",), idem="r-1"
    )
    assert status == 200 and done["status"] == "settled"
    status, err, _ = call("SettlementActionFunction", path=path, body={}, ops=("finance",), idem="r-2")
    assert status == 409 and err["error"]["code"] == "ILLEGAL_TRANSITION"


def test_maker_checker_fee_schedule_reconciliation_and_exports(world):
    _, pol, _, now = world
    alice, bob = ops_headers("finance", sub="alice"), ops_headers("finance", sub="bob")
    spec = {"kind": "manual_refund", "policy_number": pol.number, "amount": "10.00", "reason": "bank refund"}
    status, req, _ = call("RequestMoneyFunction", body=spec, headers={**alice, "Idempotency-Key": "m-1"})
    assert status == 201 and req["status"] == "requested", req
    decide = {"requestId": req["request_id"]}
    status, err, _ = call(
        "DecideMoneyRequestFunction",
        path=decide,
        body={"decision": "approve"},
        headers={**alice, "Idempotency-Key": "d-1"},
    )
    assert status == 403 and err["error"]["code"] == "SAME_PERSON"
    status, ok, _ = call(
        "DecideMoneyRequestFunction",
        path=decide,
        body={"decision": "approve"},
        headers={**bob, "Idempotency-Key": "d-2"},
    )
    assert status == 200 and ok["status"] == "approved" and ok["journal_id"]

    today = calendar.today(now).isoformat()
    fee = {
        "effective_from": today,
        "reason": "list",
        "rates": [{"region": "*", "fee": "20.00"}],
    }
    status, v, _ = call("PutFeeScheduleFunction", path={"serviceType": "medicine_delivery"}, body=fee, ops=("finance",))
    assert status == 201 and v["version"] == 1

    out = handler_of("ReconcileNightlyFunction")({"date": today}, None)
    assert out["day"] == today
    status, report, _ = call("ReconciliationReportFunction", path={"date": today}, ops=("finance",))
    assert status == 200 and report["status"] == "clean", report
    assert report["counts"]["journals"] >= 2

    query = {"start": now.strftime("%Y-%m"), "end": now.strftime("%Y-%m")}
    status, png, _ = call(
        "ExportReportFunction", path={"report": "loss-ratio", "format": "png"}, query=query, ops=("finance",)
    )
    assert status == 200 and base64.b64decode(png["content"]).startswith(b"\x89PNG")
    status, csv_file, _ = call(
        "ExportReportFunction", path={"report": "statistics", "format": "csv"}, query=query, ops=("sales",)
    )
    assert status == 200 and csv_file["content"].startswith("channel_id,")
