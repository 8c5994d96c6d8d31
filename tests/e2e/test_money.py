"""Money over HTTP on the local cloud, with data of its own: a fresh channel sells a policy back-dated
into last month, finance runs last month's settlement (JSON, CSV, XLSX), a second back-dated sale into
the now settled month is still issued and lands in this month as an adjustment with a note, receipt is
confirmed once, a provider fee schedule is published, and the nightly reconciliation is run and read."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from petcover.domain import calendar

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _ops(stack, *roles: str):
    """Ops clients with a generous timeout: a cold function on a busy machine can take a while."""
    from infra.credentials import ops_token
    from petcover.client import OpsClient

    return OpsClient(stack.base, ops_token(list(roles), "e2e-money"), timeout=120)


def _channel(stack) -> tuple[str, object]:
    from petcover.client import PetcoverClient

    ops = _ops(stack, "sales")
    cid = f"money-{uuid.uuid4().hex[:8]}"
    r = ops.post(
        "/ops/channels",
        idempotency_key=cid,
        json={"id": cid, "name": "Money Shop", "callback_url": f"{stack.cloud.sink_url}/hooks/{cid}"},
    )
    assert r.status == 201, r.body
    r = ops.post(
        f"/ops/channels/{cid}/contracts",
        idempotency_key=f"{cid}-c",
        json={
            "product_code": "pet-health",
            "permissions": ["quote", "underwrite", "query"],
            "commission_pct": "10",
            "effective_from": "2026-01-01",
        },
    )
    assert r.status == 201, r.body
    key = ops.post(f"/ops/channels/{cid}/keys").json
    return cid, PetcoverClient(stack.base, key["key_id"], key["secret"], timeout=120)


def _sell(channel, order: str, sold_at: datetime):
    body = {
        "product_code": "pet-health",
        "plan_code": "basic",
        "insured": {
            "insured_id": f"pet-{order}",
            "species": "cat",
            "breed_size": "small",
            "age_months": 20,
            "region": "310115",
        },
        "channel_order_id": order,
        "holder": {"name": "Han Meimei"},
        "sold_at": sold_at.isoformat(),
    }
    return channel.post("/policies", json=body, idempotency_key=order)


def test_settle_a_month_then_sell_into_it_late_and_reconcile(stack):
    cid, channel = _channel(stack)
    now = datetime.now(SHANGHAI)
    this_month = now.strftime("%Y-%m")
    last_day = now.replace(day=1, hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    last_month = last_day.strftime("%Y-%m")

    first = _sell(channel, f"{cid}-1", last_day)
    assert first.status == 201, first.body
    premium = float(first.json["premium"])

    finance = _ops(stack, "finance")
    assert (
        _ops(stack, "sales")
        .post("/ops/settlements", json={"party": "channel", "party_id": cid, "month": last_month})
        .status
        == 403
    )
    run = finance.post(
        "/ops/settlements",
        idempotency_key=f"{cid}-run",
        json={"party": "channel", "party_id": cid, "month": last_month},
    )
    assert run.status == 201, run.body
    s = run.json
    assert s["status"] == "issued" and float(s["receivables"]) == premium
    assert abs(float(s["net_due"]) - (premium - float(s["commission"]))) < 0.005
    assert float(s["closing_balance"]) == float(s["net_due"])
    again = finance.post(
        "/ops/settlements",
        idempotency_key=f"{cid}-run-2",
        json={"party": "channel", "party_id": cid, "month": last_month},
    )
    assert again.json["created_at"] == s["created_at"]  # the same statement, not a second one

    sid = s["settlement_id"]
    csv_file = finance.get(f"/ops/settlements/{sid}/files/csv")
    assert csv_file.status == 200 and "issue_time" in csv_file.json["content"], csv_file.body
    xlsx = finance.get(f"/ops/settlements/{sid}/files/xlsx")
    assert xlsx.status == 200 and xlsx.json["encoding"] == "base64"
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(base64.b64decode(xlsx.json["content"])))
    assert book.sheetnames == ["summary", "lines"] and book["lines"].max_row == 2

    # a sale back-dated into the settled month is still issued; it is booked this month as an adjustment
    late = _sell(channel, f"{cid}-2", last_day + timedelta(hours=2))
    assert late.status == 201 and late.json["status"] == "active", late.body
    statement = finance.get(f"/ops/statements/{cid}/{this_month}")
    assert statement.status == 200
    [row] = [ln for ln in statement.body.decode().splitlines() if late.json["number"] in ln]
    assert f",{this_month}," in row and last_month in row  # booked this month, with a note naming the settled one
    old = finance.get(f"/ops/statements/{cid}/{last_month}").body.decode()
    assert late.json["number"] not in old and first.json["number"] in old

    wrong = finance.post(
        f"/ops/settlements/{sid}/confirm-receipt", json={"amount": "0.01"}, idempotency_key=f"{cid}-r0"
    )
    assert wrong.status == 422 and wrong.json["error"]["code"] == "SETTLEMENT_AMOUNT_MISMATCH"
    paid = finance.post(
        f"/ops/settlements/{sid}/confirm-receipt",
        idempotency_key=f"{cid}-r1",
        json={"amount": s["closing_balance"], "reference": "bank-e2e"},
    )
    assert paid.status == 200 and paid.json["status"] == "settled", paid.body
    twice = finance.post(f"/ops/settlements/{sid}/confirm-receipt", idempotency_key=f"{cid}-r2", json={})
    assert twice.status == 409

    fee = finance.put(
        "/ops/fee-schedules/medicine_delivery",
        idempotency_key=f"{cid}-fee",
        json={
            "effective_from": calendar.today(now).isoformat(),
            "reason": "e2e price list",
            "rates": [{"region": "*", "fee": "20.00"}, {"region": "310000", "fee": "25.00"}],
        },
    )
    assert fee.status == 201 and fee.json["version"] >= 1, fee.body

    today = calendar.today(now).isoformat()
    out = stack.cloud.invoke("ReconcileNightlyFunction", {"date": today})
    assert out and out["day"] == today, out
    report = finance.get(f"/ops/reconciliation/{today}")
    assert report.status == 200, report.body
    mine = {first.json["number"], late.json["number"], cid}
    involved = [d for d in report.json["differences"] if mine & set(d["objects"])]
    assert involved == [], involved
    assert report.json["counts"]["journals"] >= 3  # two sales and the receipt at least
    assert finance.get("/ops/reconciliation/1999-01-01").status == 404


def test_finance_reads_its_lists_over_http(stack):
    """The queue of money requests (made and decided by two people), a party's settlements, a service
    type's fee versions and the reconciliation nights, through GET /ops/money/{view}."""
    from infra.credentials import ops_token
    from petcover.client import OpsClient

    cid, channel = _channel(stack)
    now = datetime.now(SHANGHAI)
    last_day = now.replace(day=1, hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    sold = _sell(channel, f"{cid}-l", last_day)
    assert sold.status == 201, sold.body
    alice = OpsClient(stack.base, ops_token(["finance"], "e2e-alice"), timeout=120)
    bob = OpsClient(stack.base, ops_token(["finance"], "e2e-bob"), timeout=120)

    spec = {"kind": "manual_refund", "policy_number": sold.json["number"], "amount": "1.00", "reason": "bank refund"}
    made = alice.post("/ops/money-requests", json=spec, idempotency_key=f"{cid}-mr")
    assert made.status == 201, made.body
    rid = made.json["request_id"]
    pending = alice.get("/ops/money/money-requests", query={"status": "pending", "limit": "200"})
    assert pending.status == 200 and rid in [r["request_id"] for r in pending.json["money_requests"]], pending.body
    decided = bob.post(f"/ops/money-requests/{rid}/decision", json={"decision": "approve"}, idempotency_key=f"{cid}-md")
    assert decided.status == 200 and decided.json["status"] == "approved", decided.body
    approved = bob.get("/ops/money/money-requests", query={"status": "approved", "limit": "200"})
    assert rid in [r["request_id"] for r in approved.json["money_requests"]]

    month = last_day.strftime("%Y-%m")
    run = alice.post(
        "/ops/settlements", idempotency_key=f"{cid}-lrun", json={"party": "channel", "party_id": cid, "month": month}
    )
    assert run.status == 201, run.body
    mine = alice.get("/ops/money/settlements", query={"party": "channel", "party_id": cid})
    assert [s["settlement_id"] for s in mine.json["settlements"]] == [run.json["settlement_id"]]
    assert alice.get("/ops/money/settlements").status == 400

    service = f"e2e_{uuid.uuid4().hex[:8]}"
    for n, fee in enumerate(("10.00", "11.00")):
        put = alice.put(
            f"/ops/fee-schedules/{service}",
            idempotency_key=f"{cid}-f{n}",
            json={
                "effective_from": calendar.today(now).isoformat(),
                "reason": "e2e",
                "rates": [{"region": "*", "fee": fee}],
            },
        )
        assert put.status == 201, put.body
    versions = alice.get("/ops/money/fee-schedules", query={"service_type": service})
    assert [v["version"] for v in versions.json["fee_versions"]] == [2, 1]

    today = calendar.today(now).isoformat()
    assert stack.cloud.invoke("ReconcileNightlyFunction", {"date": today})["day"] == today
    nights = alice.get("/ops/money/reconciliation-reports", query={"month": today[:7]})
    assert nights.status == 200 and nights.json["reconciliation_reports"][0]["day"] == today, nights.body
    assert _ops(stack, "sales").get("/ops/money/settlements", query={"month": month}).status == 403
