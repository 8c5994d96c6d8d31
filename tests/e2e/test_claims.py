"""Instant claims over HTTP on the local cloud, async steps included: a return-shipping claim is
decided from its own queue message and paid, the channel hears claim.paid (with the deciding rule)
through a signed webhook; a claim that does not qualify waits in the staff queue with the reason
until the channel corrects it; a claim outside the policy term is rejected by rule."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from petcover.domain import calendar
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


def _policy(channel: Any) -> str:
    order = f"e2e-rs-{uuid.uuid4().hex[:10]}"
    r = channel.post(
        "/policies",
        idempotency_key=order,
        json={
            "product_code": "return-shipping",
            "plan_code": "standard",
            "insured": {"insured_id": f"order-{order}"},
            "channel_order_id": order,
            "holder": {"name": "Li Lei"},
        },
    )
    assert r.status == 201, r.body
    return str(r.json["number"])


def _claim(channel: Any, number: str, tracking: str | None, incident: date | None = None) -> str:
    body: dict[str, Any] = {
        "incident_date": (incident or calendar.today(datetime.now(UTC))).isoformat(),
        "incident_type": "return_shipment",
        "amount": "12.00",
    }
    if tracking:
        body["evidence"] = {"tracking_number": tracking}
    r = channel.post(f"/policies/{number}/claims", json=body, idempotency_key=uuid.uuid4().hex)
    assert r.status == 201, r.body
    assert r.json["status"] == "submitted" and r.json["auto"]
    return str(r.json["claim_number"])


def _hooks(stack: Any, claim: str) -> list[dict[str, Any]]:
    got = [r for r in stack.cloud.sink_requests() if r["path"].startswith("/hooks/demo-shop") and r["answered"] < 400]
    return [b for b in (json.loads(r["body"]) for r in got) if b.get("object_id") == claim]


def _hook(stack: Any, claim: str, event_type: str) -> dict[str, Any]:
    found = wait_for(
        lambda: [h for h in _hooks(stack, claim) if h["event_type"] == event_type], f"{event_type} of {claim}"
    )
    assert len(found) == 1, found
    return dict(found[0])


def test_an_eligible_claim_is_paid_from_its_own_event_and_the_channel_hears_it(stack):
    channel = stack.channel_client()
    number = _policy(channel)
    claim = _claim(channel, number, "SF778899001")
    paid = _hook(stack, claim, "claim.paid")
    assert paid["data"]["status"] == "paid" and paid["data"]["paid_amount"] == "12.00"
    assert paid["data"]["decision"]["rule"] == "all_rules_passed"
    assert paid["data"]["decision"]["ruleset"] == "return_shipping.v1"
    approved = _hook(stack, claim, "claim.approved")
    assert approved["data"]["decision"]["rule"] == "all_rules_passed" and approved["version"] < paid["version"]
    got = channel.get(f"/claims/{claim}")
    assert got.status == 200 and got.json["status"] == "paid" and got.json["decision"]["rule"] == "all_rules_passed"
    policy = channel.get(f"/policies/{number}").json
    assert float(policy["remaining_sum_insured"]) == float(policy["sum_insured"]) - 12
    # the schedule, fired now, finds nothing left to pay
    ran = stack.cloud.fire("AutoClaimsFunction")
    assert ran is not None
    assert channel.get(f"/claims/{claim}").json["paid_amount"] == "12.00"
    assert float(channel.get(f"/policies/{number}").json["remaining_sum_insured"]) == float(policy["sum_insured"]) - 12


def test_a_claim_that_does_not_qualify_waits_in_the_staff_queue_until_corrected(stack):
    channel = stack.channel_client()
    staff = stack.ops_client("underwriter")
    number = _policy(channel)
    claim = _claim(channel, number, None)
    held = _hook(stack, claim, "claim.assessing")
    assert held["data"]["decision"]["rule"] == "tracking_number_present"
    assert "tracking number" in held["data"]["note"]

    def listed() -> list[dict[str, Any]]:
        items = staff.get("/ops/claim-reviews", query={"limit": "200"}).json["items"]
        return [e for e in items if e["claim_number"] == claim]

    [entry] = wait_for(listed, "the claim in the staff queue")
    assert entry["review"]["rule"] == "tracking_number_present" and "tracking number" in entry["review"]["reason"]
    assert channel.get("/ops/claim-reviews").status == 401  # a channel cannot read the staff queue

    fixed = channel.patch(
        f"/claims/{claim}",
        idempotency_key=uuid.uuid4().hex,
        json={"reason": "return tracking number added", "tracking_number": "YT5566778899"},
    )
    assert fixed.status == 200, fixed.body
    paid = _hook(stack, claim, "claim.paid")
    assert paid["data"]["decision"]["rule"] == "all_rules_passed"
    assert wait_for(lambda: not listed(), "the claim out of the staff queue")
    got = channel.get(f"/claims/{claim}").json
    assert got["status"] == "paid" and got["review"] is None and got["changes"] == 1


def test_a_claim_outside_the_policy_term_is_rejected_with_the_rule(stack):
    channel = stack.channel_client()
    number = _policy(channel)
    claim = _claim(channel, number, "SF123123123", incident=calendar.today(datetime.now(UTC)) - timedelta(days=20))
    rejected = _hook(stack, claim, "claim.rejected")
    assert rejected["data"]["decision"]["rule"] == "incident_in_term"
    got = channel.get(f"/claims/{claim}").json
    assert got["status"] == "rejected" and got["paid_amount"] is None
    policy = channel.get(f"/policies/{number}").json
    assert float(policy["remaining_sum_insured"]) == float(policy["sum_insured"])
