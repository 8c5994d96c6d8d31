"""e2e: risk control over HTTP on the local cloud. The rule set is global, so each test adds rules
that match only its own made-up holder or device, on top of whatever is in force."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from petcover.domain import calendar
from tests.support.products import make_product_without_waiting_period
from tests.support.risk import held_booking
from tests.support.risk import phone as _phone
from tests.support.risk import publish as _publish
from tests.support.risk import underwrite as _underwrite
from tests.support.waiting import wait_for


def test_a_blocked_holder_is_refused_without_naming_the_rule_and_others_pass(stack):
    product = make_product_without_waiting_period(stack)
    blocked = _phone()
    _publish(
        stack,
        [
            {
                "id": f"e2e-block-{blocked}",
                "kind": "blocklist",
                "stages": ["underwrite"],
                "field": "holder",
                "values": [blocked],
            }
        ],
    )
    # Containers read the rule set at most five seconds old: poll until it is in force.
    refused = wait_for(
        lambda: (r := _underwrite(stack, product, blocked)).status == 422 and r, "the blocklist in force", timeout=120
    )
    assert refused.json["error"]["code"] == "RISK_REFUSED"
    assert "e2e-block" not in refused.body.decode()
    fine = _underwrite(stack, product, _phone())
    assert fine.status == 201, fine.body
    assert fine.json["risk"]["outcome"] == "pass"


def test_a_booking_from_a_watched_device_waits_for_staff_then_dispatches(stack):
    product = make_product_without_waiting_period(stack)
    tag = uuid.uuid4().hex[:8]
    device = f"DEV-{tag}"
    rule = {
        "id": f"e2e-watch-{tag}",
        "kind": "blocklist",
        "stages": ["booking"],
        "field": "device",
        "values": [device],
        "action": "review",
    }
    _publish(stack, [rule])
    service = stack.ops_client("service")
    aid = held_booking(stack, product, device)
    assert stack.ops_client("ops").get(f"/ops/appointments/{aid}/dispatch").json.get("decision") is None
    decided = service.post(
        f"/ops/booking-reviews/{aid}/decision", json={"outcome": "approve", "note": "known customer"}
    )
    assert decided.status == 200, decided.body
    ops = stack.ops_client("ops")
    wait_for(
        lambda: (r := ops.get(f"/ops/appointments/{aid}/dispatch")).status == 200 and (r.json.get("decision") or None),
        "the approved booking's dispatch decision",
    )
    again = service.post(f"/ops/booking-reviews/{aid}/decision", json={"outcome": "reject", "note": "twice"})
    assert again.status == 409 and again.json["error"]["code"] == "NOT_IN_REVIEW"


# ---------------------------------------------------------------- claims held for review
def _held_claim(stack: Any, insured: str) -> tuple[str, dict[str, Any]]:
    """A return-shipping policy for ``insured`` and a claim on it, once the review rule holds it."""
    channel = stack.channel_client()
    order = f"risk-rs-{uuid.uuid4().hex[:10]}"
    pol = channel.post(
        "/policies",
        idempotency_key=order,
        json={
            "product_code": "return-shipping",
            "plan_code": "standard",
            "insured": {"insured_id": insured},
            "channel_order_id": order,
            "holder": {"name": "Li Lei"},
        },
    )
    assert pol.status == 201, pol.body
    claim = channel.post(
        f"/policies/{pol.json['number']}/claims",
        idempotency_key=uuid.uuid4().hex,
        json={
            "incident_date": calendar.today(datetime.now(UTC)).isoformat(),
            "incident_type": "return_shipment",
            "amount": "12.00",
            "evidence": {"tracking_number": "SF5544332211"},
        },
    )
    assert claim.status == 201, claim.body
    return str(pol.json["number"]), claim.json


def test_claims_a_review_rule_holds_wait_for_staff_one_approved_and_paid_one_rejected(stack):
    tag = uuid.uuid4().hex[:8]
    insured = [f"order-watch-{tag}-{i}" for i in range(8)]
    _publish(
        stack,
        [
            {
                "id": f"e2e-claim-watch-{tag}",
                "kind": "blocklist",
                "stages": ["claim"],
                "field": "insured",
                "values": insured,
                "action": "review",
            }
        ],
    )
    left = iter(insured)

    def held() -> tuple[str, dict[str, Any]] | None:
        number, claim = _held_claim(stack, next(left))  # a claim before the rule is in force is decided as usual
        return (number, claim) if claim["review"] and claim["review"]["rule"] == "risk" else None

    number, claim = wait_for(held, "a claim held by the review rule", timeout=60, every=2)
    other_number, other = wait_for(held, "a second claim held by the review rule", timeout=60, every=2)
    assert claim["auto"] is False and claim["risk"]["outcome"] == "review"
    assert [f["rule"] for f in claim["risk"]["fired"]] == [f"e2e-claim-watch-{tag}"]
    channel = stack.channel_client()
    assert channel.get(f"/claims/{claim['claim_number']}").json["status"] == "submitted"  # not decided by itself

    staff = stack.ops_client("underwriter")
    queued = {e["claim_number"]: e for e in staff.get("/ops/claim-reviews", query={"limit": "200"}).json["items"]}
    assert {claim["claim_number"], other["claim_number"]} <= set(queued)
    assert f"e2e-claim-watch-{tag}" in queued[claim["claim_number"]]["review"]["reason"]

    n = claim["claim_number"]
    assert staff.post(f"/ops/claims/{n}/assess", json={"note": "risk review"}).status == 200
    approved = staff.post(f"/ops/claims/{n}/approve", json={"amount": "12.00", "note": "known customer"})
    assert approved.status == 200 and approved.json["status"] == "approved", approved.body
    paid = stack.ops_client("finance").post(
        f"/ops/claims/{n}/pay", json={"reference": f"e2e-{tag}"}, idempotency_key=f"pay-{n}"
    )
    assert paid.status == 200 and paid.json["status"] == "paid", paid.body
    seen = channel.get(f"/claims/{n}").json
    assert seen["status"] == "paid" and seen["paid_amount"] == "12.00"
    policy = channel.get(f"/policies/{number}").json
    assert float(policy["remaining_sum_insured"]) == float(policy["sum_insured"]) - 12

    m = other["claim_number"]
    assert staff.post(f"/ops/claims/{m}/assess", json={"note": "risk review"}).status == 200
    rejected = staff.post(f"/ops/claims/{m}/reject", json={"reason": "the return was never shipped"})
    assert rejected.status == 200 and rejected.json["status"] == "rejected", rejected.body
    assert channel.get(f"/claims/{m}").json["status"] == "rejected"
    policy = channel.get(f"/policies/{other_number}").json
    assert float(policy["remaining_sum_insured"]) == float(policy["sum_insured"])
    left_over = {e["claim_number"] for e in staff.get("/ops/claim-reviews", query={"limit": "200"}).json["items"]}
    assert n not in left_over and m not in left_over


# ---------------------------------------------------------------- clearing out a channel
def _own_channel(stack: Any) -> tuple[str, Any]:
    """A channel made for this test alone, with a contract to sell pet-health and a signing key."""
    from petcover.client import PetcoverClient

    sales = stack.ops_client("sales")
    cid = f"risk-clear-{uuid.uuid4().hex[:8]}"
    made = sales.post(
        "/ops/channels",
        idempotency_key=cid,
        json={"id": cid, "name": "Clear-out Shop", "callback_url": f"{stack.cloud.sink_url}/hooks/{cid}"},
    )
    assert made.status == 201, made.body
    contract = sales.post(
        f"/ops/channels/{cid}/contracts",
        idempotency_key=f"{cid}-c",
        json={
            "product_code": "pet-health",
            "permissions": ["quote", "underwrite", "query"],
            "effective_from": "2026-01-01",
        },
    )
    assert contract.status == 201, contract.body
    key = sales.post(f"/ops/channels/{cid}/keys")
    assert key.status in (200, 201), key.body
    return cid, PetcoverClient(stack.base, key.json["key_id"], key.json["secret"], timeout=90)


def test_a_cleared_out_channel_is_refused_its_open_policies_listed_and_still_served_by_staff(stack):
    cid, channel = _own_channel(stack)
    sold = []
    for i in range(2):
        order = f"{cid}-{i}"
        pol = channel.post(
            "/policies",
            idempotency_key=order,
            json={
                "product_code": "pet-health",
                "plan_code": "basic",
                "channel_order_id": order,
                "insured": {
                    "insured_id": f"pet-{order}",
                    "species": "cat",
                    "breed_size": "small",
                    "age_months": 24,
                    "region": "310115",
                },
                "holder": {"name": "Han Meimei", "phone": _phone()},
            },
        )
        assert pol.status == 201, pol.body
        sold.append(pol.json["number"])
    assert channel.get(f"/policies/{sold[0]}").status == 200

    sales = stack.ops_client("sales")
    out = sales.post(f"/ops/channels/{cid}/clear-out", json={"reason": "contract ended"})
    assert out.status == 200, out.body
    assert out.json["channel"]["status"] == "cleared" and sorted(out.json["open_policies"]) == sorted(sold)
    assert len(out.json["revoked_keys"]) == 1

    # Containers see a key and a channel at most a few seconds old: poll until the refusal is seen.
    refused = wait_for(
        lambda: (r := channel.get(f"/policies/{sold[0]}")).status != 200 and r,
        "the cleared channel refused",
        timeout=60,
    )
    assert refused.status == 403 and refused.json["error"]["code"] == "CHANNEL_CLEARED", refused.body
    again = channel.post(
        "/policies",
        idempotency_key=f"{cid}-late",
        json={
            "product_code": "pet-health",
            "plan_code": "basic",
            "channel_order_id": f"{cid}-late",
            "insured": {
                "insured_id": f"pet-{cid}-late",
                "species": "cat",
                "breed_size": "small",
                "age_months": 24,
                "region": "310115",
            },
            "holder": {"name": "Han Meimei"},
        },
    )
    assert again.status == 403 and again.json["error"]["code"] == "CHANNEL_CLEARED", again.body

    staff = stack.ops_client("service")
    for number in sold:
        seen = staff.get(f"/ops/policies/{number}")
        assert seen.status == 200 and seen.json["number"] == number and seen.json["status"] == "active", seen.body
    assert sales.get(f"/ops/channels/{cid}").json["status"] == "cleared"
    repeat = sales.post(f"/ops/channels/{cid}/clear-out", json={"reason": "again"})
    assert repeat.status == 409 and repeat.json["error"]["code"] == "ILLEGAL_TRANSITION"
