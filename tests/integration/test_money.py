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


def test_finance_lists_requests_settlements_fee_versions_and_reconciliation_nights(world):
    _p, pol, month, now = world
    alice, bob = ops_headers("finance", sub="alice"), ops_headers("finance", sub="bob")
    spec = {"kind": "manual_refund", "policy_number": pol.number, "amount": "5.00", "reason": "bank refund"}
    ids = []
    for n in range(2):
        status, req, _ = call("RequestMoneyFunction", body=spec, headers={**alice, "Idempotency-Key": f"l-{n}"})
        assert status == 201
        ids.append(req["request_id"])
    call(
        "DecideMoneyRequestFunction",
        path={"requestId": ids[0]},
        body={"decision": "reject", "note": "duplicate"},
        headers={**bob, "Idempotency-Key": "ld-1"},
    )

    def money(view: str, **query: str) -> tuple[int, dict]:
        status, body, _ = call("ListMoneyFunction", path={"view": view}, query=query or None, ops=("finance",))
        return status, body

    status, pending = money("money-requests")
    assert status == 200 and [r["request_id"] for r in pending["money_requests"]] == [ids[1]]
    status, decided = money("money-requests", status="decided")
    assert [(r["request_id"], r["status"]) for r in decided["money_requests"]] == [(ids[0], "rejected")]
    status, _, _ = call("ListMoneyFunction", path={"view": "money-requests"}, ops=("sales",))
    assert status == 403

    status, s, _ = call(
        "RunSettlementFunction",
        body={"party": "channel", "party_id": "shop-a", "month": month},
        ops=("finance",),
        idem="lr",
    )
    assert status == 201
    status, of_month = money("settlements", month=month)
    assert [x["settlement_id"] for x in of_month["settlements"]] == [s["settlement_id"]]
    status, of_party = money("settlements", party="channel", party_id="shop-a", status="issued")
    assert [x["settlement_id"] for x in of_party["settlements"]] == [s["settlement_id"]]
    assert money("settlements", status="settled", month=month)[1]["settlements"] == []
    status, err = money("settlements")
    assert status == 400 and err["error"]["details"][0]["field"] == "month"

    today = calendar.today(now)
    for n, fee in enumerate(("20.00", "22.00")):
        body = {"effective_from": today.isoformat(), "reason": f"list {n}", "rates": [{"region": "*", "fee": fee}]}
        status, _, _ = call("PutFeeScheduleFunction", path={"serviceType": "checkup"}, body=body, ops=("finance",))
        assert status == 201
    status, versions = money("fee-schedules", service_type="checkup")
    assert [v["version"] for v in versions["fee_versions"]] == [2, 1]
    status, latest = money("fee-schedules")
    assert [(v["service_type"], v["version"]) for v in latest["fee_versions"]] == [("checkup", 2)]

    for day in (today - timedelta(days=2), today - timedelta(days=1)):
        handler_of("ReconcileNightlyFunction")({"date": day.isoformat()}, None)
    status, nights = money("reconciliation-reports", limit="1")
    assert status == 200 and [n["day"] for n in nights["reconciliation_reports"]] == [
        (today - timedelta(days=1)).isoformat()
    ]
    assert nights["cursor"]
    status, older = money("reconciliation-reports", limit="1", cursor=nights["cursor"])
    assert [n["day"] for n in older["reconciliation_reports"]] == [(today - timedelta(days=2)).isoformat()]
    assert {"differences", "configuration_gaps", "status"} <= set(older["reconciliation_reports"][0])
    status, err = money("nothing")
    assert status == 400


def test_a_provider_statement_through_the_handlers_carries_its_quality_deduction(world):
    p, _, month, _ = world
    from decimal import Decimal

    from petcover.domain import journal
    from petcover.repositories import ledger as ledger_repo
    from petcover.repositories import quality as quality_repo
    from petcover.services.money import journals
    from petcover.services.quality import assessment

    at = datetime.fromisoformat(f"{month}-15T12:00:00+08:00")
    e = journals.entry(
        p,
        book="provider:clinic-q",
        event="provider_fee",
        amount=Decimal("200.00"),
        lines=journal.provider_fee_lines("clinic-q", Decimal("200.00")),
        basis_at=at,
        ref="WO-1",
        provider_id="clinic-q",
    )
    journals.post(p, e, once=ledger_repo.once_key("FEE", "WO-1"))
    body = {"party": "provider", "party_id": "clinic-q", "month": month}
    status, err, _ = call("RunSettlementFunction", body=body, ops=("finance",), idem="q-1")
    assert status == 422 and err["error"]["code"] == "QUALITY_NOT_ASSESSED"
    p.store.transact(
        [
            quality_repo.counter_op("clinic-q", month, "orders", 12),
            quality_repo.counter_op("clinic-q", month, "breaches", 12),
        ]
    )
    assessment.run(p, month)
    status, s, _ = call("RunSettlementFunction", body=body, ops=("finance",), idem="q-2")
    assert status == 201 and (s["fees"], s["deductions"], s["net_due"]) == ("200.00", "10.00", "190.00"), s
    status, f, _ = call(
        "SettlementFileFunction", path={"settlementId": s["settlement_id"], "format": "csv"}, ops=("finance",)
    )
    assert "WO-1" in f["content"] and "provider_deduction" in f["content"]
