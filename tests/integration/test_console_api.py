"""The console's operations through their handlers, in-process against moto, events from events/."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import boto3
import pytest

from petcover import runtime
from petcover.config import get_settings, reset_settings
from petcover.domain import sla
from petcover.services import timeline
from petcover.services.claims import submission
from tests.support.calls import call
from tests.support.claims import SHOP_A, pet_policy, vet_claim
from tests.support.fixtures import catalogue

T0 = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def cloud(aws):
    reset_settings()
    yield aws
    reset_settings()


def test_overview_reads_counters_gauges_and_dead_letter_depths(cloud):
    dlq = get_settings().quota_dlq_url
    boto3.client("sqs", region_name="us-east-1").send_message(QueueUrl=dlq, MessageBody=json.dumps({"x": 1}))
    status, body, _ = call("OpsOverviewFunction", ops=("ops",))
    assert status == 200, body
    depths = {d["queue"]: d["depth"] for d in body["dead_letters"]}
    assert depths["QuotaDLQ"] == 1 and depths["BookingDLQ"] == 0 and len(depths) == 8
    assert len(body["series"]) == 30 and body["today"]["policies_issued"] == 0
    assert body["open_sla_breaches"] == 0 and body["manual_queue"] == 0


def test_an_issued_policy_and_its_claim_reach_the_overview_through_dynamodb(cloud):
    p = runtime.ports()
    catalogue(p, ("shop-a",))
    pol = pet_policy(p, "int-1")
    submission.submit(p, SHOP_A, pol.number, vet_claim(p, "300.00"))
    status, body, _ = call("OpsOverviewFunction", ops=("finance",))
    assert status == 200, body
    assert body["today"]["policies_issued"] == 1 and body["this_month"]["claims_opened"] == 1
    assert Decimal(str(body["today"]["premium"])) == pol.premium


def test_the_console_operations_need_a_staff_token_and_role(cloud):
    assert call("OpsOverviewFunction")[0] == 401
    assert call("OpsListWorkOrdersFunction", ops=("finance",))[0] == 403
    assert call("OpsGetWorkOrderFunction", ops=("sales",), path={"orderId": "WO-A"})[0] == 403


def test_work_orders_list_and_page(cloud):
    p = runtime.ports()
    args = {"service_type": "vaccination", "region": "310115", "online": False}
    timeline.record(p, order_id="WO-A", provider_id="prov-a", node=sla.ASSIGNED, at=T0 - timedelta(hours=1), **args)
    timeline.record(p, order_id="WO-B", provider_id="prov-b", node=sla.ASSIGNED, at=T0, **args)
    status, body, _ = call("OpsListWorkOrdersFunction", ops=("ops",), query={"overdue": "true"})
    assert status == 200, body
    assert [w["order_id"] for w in body["items"]] == ["WO-A"] and body["index"] == "due"
    status, body, _ = call("OpsListWorkOrdersFunction", ops=("service",), query={"provider_id": "prov-b"})
    assert [w["order_id"] for w in body["items"]] == ["WO-B"]
    status, body, _ = call("OpsListWorkOrdersFunction", ops=("ops",), query={"region": "3101x"})
    assert status == 400
    status, body, _ = call("OpsGetWorkOrderFunction", ops=("ops",), path={"orderId": "WO-A"})
    assert status == 200, body
    assert body["steps"][0]["late"] is True and body["console_path"] == "/console/work-orders/WO-A"
    status, body, _ = call("OpsGetWorkOrderFunction", ops=("ops",), path={"orderId": "WO-none"})
    assert status == 404 and body["error"]["code"] == "WORK_ORDER_NOT_FOUND"


def test_policy_lookup_by_number_and_its_page(cloud):
    p = runtime.ports()
    catalogue(p, ("shop-a",))
    pol = pet_policy(p, "int-2")
    status, body, _ = call("OpsLookupPoliciesFunction", ops=("service",), query={"number": pol.number})
    assert status == 200 and [x["number"] for x in body["items"]] == [pol.number]
    status, body, _ = call("OpsLookupPoliciesFunction", ops=("service",), query={"number": "PC-none"})
    assert status == 200 and body["items"] == []
    status, body, _ = call("OpsPolicyPageFunction", ops=("finance",), path={"number": pol.number})
    assert status == 200, body
    assert body["policy"]["number"] == pol.number and [v["version"] for v in body["versions"]] == [1]
    assert [e["event"] for e in body["ledger"]] == ["issue"] and body["appointments"] == []
    status, body, _ = call("OpsPolicyPageFunction", ops=("finance",), path={"number": "PC-none"})
    assert status == 404 and body["error"]["code"] == "POLICY_NOT_FOUND"


def test_service_request_e_policy_through_the_handlers(cloud, monkeypatch):
    from petcover.mail import MemoryMailer

    p = runtime.ports()
    catalogue(p, ("shop-a",))
    pol = pet_policy(p, "int-3")
    mailer = MemoryMailer()
    p.mailer = mailer
    body = {"policy_number": pol.number, "kind": "e_policy", "email": "li@example.com"}
    status, created, _ = call("CreateServiceRequestFunction", ops=("service",), body=body, idem="sr-1")
    assert status == 201, created
    again = call("CreateServiceRequestFunction", ops=("service",), body=body, idem="sr-1")
    assert again[0] == 201 and again[1]["request_id"] == created["request_id"]  # the retry is the first answer
    rid = created["request_id"]
    assert call("SendEPolicyFunction", ops=("finance",), path={"requestId": rid})[0] == 403
    status, sent, _ = call("SendEPolicyFunction", ops=("underwriter",), path={"requestId": rid})
    assert status == 200, sent
    assert sent["status"] == "sent" and mailer.sent[0].attachment is not None
    status, check, _ = call("VerifyEPolicyFunction", path={"code": sent["e_policy"]["code"]})
    assert status == 200 and check["policy_number"] == pol.number and check["valid"] is True
    assert call("VerifyEPolicyFunction", path={"code": "AAAA-BBBB-CCCC-DDDD"})[0] == 404
    status, page, _ = call("ListServiceRequestsFunction", ops=("service",), query={"policy_number": pol.number})
    assert status == 200 and [r["status"] for r in page["items"]] == ["sent"]
    status, one, _ = call("GetServiceRequestFunction", ops=("underwriter",), path={"requestId": rid})
    assert status == 200 and one["e_policy"]["sent_to"] == "li@example.com"
    inv = {"policy_number": pol.number, "kind": "invoice", "email": "li@example.com"}
    status, created, _ = call("CreateServiceRequestFunction", ops=("service",), body=inv, idem="sr-2")
    record = {"number": "INV-10001", "amount": "1.00", "issued_on": "2026-11-22", "sent_by": "email"}
    status, done, _ = call(
        "RecordInvoiceFunction", ops=("finance",), path={"requestId": created["request_id"]}, body=record
    )
    assert status == 200 and done["status"] == "sent" and done["invoice"]["number"] == "INV-10001"
