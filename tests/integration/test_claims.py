"""Claims through the handlers, in-process against moto: signed channel calls with idempotency,
channel isolation, the ops approve + pay path, automatic claims decided from their own queue message
with the schedule as the safety net, and the staff queue."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from petcover import runtime
from petcover.domain import calendar, money
from petcover.identity import Principal
from petcover.models.policies import Policy, UnderwriteRequest
from petcover.repositories import policies as policy_records
from petcover.services import ledger, policies
from tests.support import events
from tests.support.calls import call, handler_of
from tests.support.clock import Clock
from tests.support.fixtures import catalogue

SHOP_A = Principal("channel", "shop-a")


@pytest.fixture
def shop(aws: dict[str, str]) -> dict[str, Any]:
    return {"keys": catalogue(runtime.ports(), ("shop-a", "shop-b")), "names": aws}


def _policy(product: str, plan: str, order: str, insured: dict[str, Any]) -> Policy:
    return policies.underwrite(
        runtime.ports(),
        SHOP_A,
        UnderwriteRequest.model_validate(
            {
                "product_code": product,
                "plan_code": plan,
                "insured": insured,
                "channel_order_id": order,
                "holder": {"name": "Li Lei"},
            }
        ),
    )


def _today() -> str:
    return calendar.today(runtime.ports().now()).isoformat()


def _remaining(number: str) -> int:
    return int(runtime.ports().store.get(*policy_records.policy_key(number))["remaining"])  # type: ignore[index]


def _webhooks_queued(names: dict[str, str]) -> int:
    sqs = boto3.client("sqs", region_name="us-east-1")
    attrs = sqs.get_queue_attributes(QueueUrl=names["WebhookQueue"], AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def test_channel_applies_idempotently_and_another_channel_gets_404(shop):
    key_a, key_b = shop["keys"]["shop-a"], shop["keys"]["shop-b"]
    pol = _policy("return-shipping", "standard", "o-1", {"insured_id": "order-1"})
    body = {
        "channel_claim_id": "ret-1",
        "incident_date": _today(),
        "incident_type": "return_shipment",
        "amount": "12.00",
        "evidence": {"tracking_number": "WRONG1"},
    }
    status, first, headers = call(
        "SubmitClaimFunction", path={"number": pol.number}, body=body, key=key_a, idem="apply-1"
    )
    assert status == 201, first
    number = first["claim_number"]
    assert number.startswith("CL") and first["status"] == "submitted" and "Idempotency-Replayed" not in headers

    status, again, headers = call(
        "SubmitClaimFunction", path={"number": pol.number}, body=body, key=key_a, idem="apply-1"
    )
    assert status == 201 and again["claim_number"] == number and headers.get("Idempotency-Replayed") == "true"
    status, err, _ = call(
        "SubmitClaimFunction", path={"number": pol.number}, body={**body, "amount": "13.00"}, key=key_a, idem="apply-1"
    )
    assert status == 409 and err["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    status, err, _ = call("SubmitClaimFunction", path={"number": pol.number}, body=body, key=key_a)
    assert status == 400 and err["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    # same channel reference under a new key: the same claim (business-key idempotency)
    status, same, _ = call("SubmitClaimFunction", path={"number": pol.number}, body=body, key=key_a, idem="apply-2")
    assert status == 201 and same["claim_number"] == number

    status, got, _ = call("GetClaimFunction", path={"claimNumber": number}, key=key_a)
    assert status == 200 and got["claim_number"] == number and got["evidence"]["tracking_number"] == "WRONG1"
    status, err, _ = call("GetClaimFunction", path={"claimNumber": number}, key=key_b)
    assert status == 404 and err["error"]["code"] == "CLAIM_NOT_FOUND"
    status, err, _ = call("ListPolicyClaimsFunction", path={"number": pol.number}, key=key_b)
    assert status == 404 and err["error"]["code"] == "POLICY_NOT_FOUND"
    status, err, _ = call(
        "UpdateClaimFunction",
        path={"claimNumber": number},
        key=key_b,
        idem="u-b",
        body={"reason": "x", "tracking_number": "SF000000"},
    )
    assert status == 404
    status, listed, _ = call("ListPolicyClaimsFunction", path={"number": pol.number}, key=key_a)
    assert status == 200 and [c["claim_number"] for c in listed["items"]] == [number]

    status, updated, _ = call(
        "UpdateClaimFunction",
        path={"claimNumber": number},
        key=key_a,
        idem="u-1",
        body={"reason": "wrong return tracking number", "tracking_number": "SF123456789"},
    )
    assert status == 200, updated
    assert updated["status"] == "assessing" and updated["version"] == 2 and updated["changes"] == 1
    status, detail, _ = call("OpsGetClaimFunction", path={"claimNumber": number}, ops=("service",))
    assert status == 200 and detail["history"][0]["after"] == {"tracking_number": "SF123456789"}
    status, err, _ = call(
        "UpdateClaimFunction", path={"claimNumber": number}, key=key_a, idem="u-2", body={"reason": "nothing"}
    )
    assert status == 400 and err["error"]["code"] == "VALIDATION_FAILED"


def test_ops_assess_approve_and_pay_through_the_api(shop):
    key_a = shop["keys"]["shop-a"]
    pol = _policy(
        "pet-health", "basic", "p-1", {"insured_id": "pet-1", "species": "cat", "breed_size": "small", "age_months": 40}
    )
    body = {
        "incident_date": _today(),
        "incident_type": "illness",
        "amount": "1200.00",
        "evidence": {"documents": ["docs/invoice.pdf"]},
    }
    status, claim, _ = call("SubmitClaimFunction", path={"number": pol.number}, body=body, key=key_a, idem="c-1")
    assert status == 201, claim
    n = claim["claim_number"]
    path = {"claimNumber": n}

    status, err, _ = call("ApproveClaimFunction", path=path, body={"amount": "1000.00"}, ops=("underwriter",))
    assert status == 409 and err["error"]["code"] == "ILLEGAL_TRANSITION"
    assert err["error"]["message"] == "Claim has not been assessed yet, cannot approve."
    status, _, _ = call("AssessClaimFunction", path=path, body={"note": "invoice ok"}, ops=("underwriter",))
    assert status == 200
    status, err, _ = call("ApproveClaimFunction", path=path, body={"amount": "1000.00"}, ops=("finance",))
    assert status == 403 and err["error"]["code"] == "ROLE_REQUIRED"
    status, err, _ = call("ApproveClaimFunction", path=path, body={"amount": "6000.00"}, ops=("underwriter",))
    assert status == 422 and err["error"]["code"] == "AMOUNT_ABOVE_CLAIMED"
    status, approved, _ = call(
        "ApproveClaimFunction", path=path, body={"amount": "1000.00", "note": "co-pay"}, ops=("underwriter",)
    )
    assert status == 200 and approved["status"] == "approved" and approved["approved_amount"] == "1000.00"

    status, paid, headers = call(
        "PayClaimFunction", path=path, body={"reference": "TX-9"}, ops=("finance",), idem="pay-1"
    )
    assert status == 200, paid
    assert paid["status"] == "paid" and paid["paid_amount"] == "1000.00"
    status, replay, headers = call(
        "PayClaimFunction", path=path, body={"reference": "TX-9"}, ops=("finance",), idem="pay-1"
    )
    assert status == 200 and headers.get("Idempotency-Replayed") == "true" and replay == paid
    status, err, _ = call("PayClaimFunction", path=path, body={"reference": "TX-9"}, ops=("finance",), idem="pay-2")
    assert status == 409 and err["error"]["message"] == "Claim already paid, cannot pay."
    assert _remaining(pol.number) == 500000 - 100000

    status, err, _ = call("RejectClaimFunction", path=path, body={"reason": "late"}, ops=("underwriter",))
    assert status == 409 and err["error"]["code"] == "ILLEGAL_TRANSITION"
    month = calendar.month_of(runtime.ports().now())
    entries = [e for e in ledger.statement_entries(runtime.ports(), "shop-a", month) if e.event == "claim_payout"]
    assert [str(e.amount) for e in entries] == ["-1000.00"]
    # submitted, assessing, approved, paid
    assert _webhooks_queued(shop["names"]) == 4


def test_service_staff_open_a_claim_and_the_payout_above_remaining_is_422(shop):
    pol = _policy("account-security", "basic", "a-1", {"insured_id": "acct-1"})  # sum insured 1000
    body = {
        "incident_date": _today(),
        "incident_type": "account_takeover",
        "amount": "800.00",
        "caller_name": "Han Meimei",
        "identity_verified": True,
    }
    numbers = []
    for i in range(2):
        status, claim, _ = call(
            "OpsOpenClaimFunction", path={"number": pol.number}, body=body, ops=("service",), idem=f"open-{i}"
        )
        assert status == 201 and claim["source"] == "ops", claim
        numbers.append(claim["claim_number"])
        call("AssessClaimFunction", path={"claimNumber": claim["claim_number"]}, body={}, ops=("underwriter",))
        status, _, _ = call(
            "ApproveClaimFunction",
            path={"claimNumber": claim["claim_number"]},
            body={"amount": "800.00"},
            ops=("underwriter",),
        )
        assert status == 200
    status, _, _ = call("PayClaimFunction", path={"claimNumber": numbers[0]}, body={}, ops=("finance",), idem="p0")
    assert status == 200
    status, err, _ = call("PayClaimFunction", path={"claimNumber": numbers[1]}, body={}, ops=("finance",), idem="p1")
    assert status == 422 and err["error"]["code"] == "SUM_INSURED_EXCEEDED"
    assert _remaining(pol.number) == 20000
    status, err, _ = call(
        "OpsOpenClaimFunction",
        path={"number": pol.number},
        body={**body, "identity_verified": False},
        ops=("service",),
        idem="open-x",
    )
    assert status == 422 and err["error"]["code"] == "IDENTITY_NOT_VERIFIED"


def _decide_from_queue(names: dict[str, str]) -> list[str]:
    """What the SQS event source does with ClaimDecisionQueue: hand its messages to ClaimDecideFunction,
    delete what it handled. Returns the claim numbers decided."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = names["ClaimDecisionQueue"]
    decided: list[str] = []
    while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies = [json.loads(m["Body"]) for m in msgs]
        out = handler_of("ClaimDecideFunction")(events.sqs("ClaimDecideFunction", bodies), None)
        assert not out.get("batchItemFailures"), out
        for m in msgs:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        decided += [b["claim_number"] for b in bodies]
    return decided


def _rs_claim(key: tuple[str, str], number: str, idem: str, tracking: str | None) -> str:
    body: dict[str, Any] = {"incident_date": _today(), "incident_type": "return_shipment", "amount": "18.00"}
    if tracking:
        body["evidence"] = {"tracking_number": tracking}
    status, claim, _ = call("SubmitClaimFunction", path={"number": number}, key=key, idem=idem, body=body)
    assert status == 201, claim
    return str(claim["claim_number"])


def test_automatic_claims_are_decided_from_their_own_event_and_the_schedule_is_the_safety_net(shop):
    key_a, names = shop["keys"]["shop-a"], shop["names"]
    clock = Clock()
    runtime.ports().clock = clock
    paid_pol = _policy("return-shipping", "standard", "r-1", {"insured_id": "order-r1"})
    held_pol = _policy("return-shipping", "standard", "r-2", {"insured_id": "order-r2"})
    ok = _rs_claim(key_a, paid_pol.number, "a-1", "SF100200300")
    held = _rs_claim(key_a, held_pol.number, "a-2", None)
    assert sorted(_decide_from_queue(names)) == sorted([ok, held])

    status, got, _ = call("GetClaimFunction", path={"claimNumber": ok}, key=key_a)
    assert status == 200 and got["status"] == "paid" and got["decision"]["rule"] == "all_rules_passed"
    assert _remaining(paid_pol.number) == 2500 - 1800 and _remaining(held_pol.number) == 2500
    status, got, _ = call("GetClaimFunction", path={"claimNumber": held}, key=key_a)
    assert got["status"] == "assessing" and got["decision"]["rule"] == "tracking_number_present"
    assert got["review"]["rule"] == "tracking_number_present" and "tracking number" in got["review"]["reason"]
    status, queue, _ = call("ClaimReviewQueueFunction", ops=("underwriter",), query={"limit": "10"})
    assert status == 200 and [e["claim_number"] for e in queue["items"]] == [held]
    assert queue["items"][0]["review"]["reason"] == got["review"]["reason"]
    status, err, _ = call("ClaimReviewQueueFunction", ops=("finance",))
    assert status == 403 and err["error"]["code"] == "ROLE_REQUIRED"

    auto = handler_of("AutoClaimsFunction")
    assert auto(events.schedule("AutoClaimsFunction"), None)["examined"] == 0  # nothing left for the net
    status, _, _ = call(
        "UpdateClaimFunction",
        path={"claimNumber": held},
        key=key_a,
        idem="a-3",
        body={"reason": "tracking number added", "tracking_number": "YT99887766"},
    )
    assert status == 200
    assert _decide_from_queue(names) == [held]  # the update asked for a new decision
    assert _remaining(held_pol.number) == 2500 - 1800
    assert call("ClaimReviewQueueFunction", ops=("underwriter",))[1]["items"] == []

    # A message lost on the way (its queue purged): the schedule decides the claim once it is settled.
    lost_pol = _policy("return-shipping", "standard", "r-3", {"insured_id": "order-r3"})
    lost = _rs_claim(key_a, lost_pol.number, "a-4", "SF300200100")
    boto3.client("sqs", region_name="us-east-1").purge_queue(QueueUrl=names["ClaimDecisionQueue"])
    assert auto(events.schedule("AutoClaimsFunction"), None)["examined"] == 0  # still young
    clock.advance(121)
    result = auto(events.schedule("AutoClaimsFunction"), None)
    assert (result["examined"], result["paid"]) == (1, 1)
    assert auto({"detail": {"claim_number": lost}}, None) == {"claim_number": lost, "outcome": "skipped"}
    assert _remaining(lost_pol.number) == 2500 - 1800
    rows = ledger.statistics(
        runtime.ports(), ["shop-a"], {"return-shipping": ["standard"]}, "day", "2000-01-01", "2999-12-31"
    )
    assert sum(r.claims for r in rows) == 3 and sum(money.cents(r.claim_amount) for r in rows) == 5400
