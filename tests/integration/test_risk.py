"""Risk control in-process against moto: the versioned rule set, the underwrite path (refused, review,
pass with a rate factor), velocity counters under concurrency, the claim review queue, the booking
review queue and its decisions, and clearing out a channel."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import boto3
import pytest

from petcover import authentication, runtime
from petcover.identity import Principal
from petcover.models.policies import UnderwriteRequest
from petcover.repositories import audit as audit_repo
from petcover.repositories import risk as risk_repo
from petcover.services import policies
from tests.support.calls import call
from tests.support.claims import rs_policy
from tests.support.clock import Clock
from tests.support.fixtures import catalogue

REGION = "us-east-1"
PET = {"insured_id": "pet-1", "species": "dog", "breed_size": "small", "age_months": 30, "region": "310115"}
ADDRESS = {
    "contact_name": "Li Lei",
    "phone": "+86 138 0000 0000",
    "line": "Room 1, 100 Century Avenue",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}
BLOCKED_HOLDER = {
    "id": "blocked-holders",
    "kind": "blocklist",
    "stages": ["underwrite", "claim"],
    "field": "holder",
    "values": ["139 0000 0009"],
}
SHANGHAI_RATE = {
    "id": "sh-rate",
    "kind": "rate_factor",
    "stages": ["underwrite"],
    "factor": "1.1",
    "when": {"region_prefix": "31"},
}


@pytest.fixture
def world(aws: dict[str, str]) -> Any:
    p = runtime.ports()
    clock = Clock()
    p.clock = clock
    now = clock.now
    clock.now = now - timedelta(days=60)  # on sale long enough for a policy past its waiting period
    keys = catalogue(p, ("shop-a",))
    clock.now = now
    return {"p": p, "clock": clock, "keys": keys, "names": aws}


def publish(rules: list[dict[str, Any]], version: int = 1) -> dict[str, Any]:
    status, out, _ = call(
        "PublishRiskRulesFunction",
        body={"version": version, "rules": rules, "note": "integration test"},
        ops=("underwriter",),
    )
    assert status == 200, out
    return out  # type: ignore[no-any-return]


def underwrite(world: Any, order: str, *, holder: str = "13800000000", pet: str | None = None) -> tuple[int, Any]:
    body = {
        "product_code": "pet-health",
        "plan_code": "basic",
        "insured": {**PET, "insured_id": pet or f"pet-{order}"},
        "channel_order_id": order,
        "holder": {"name": "Li Lei", "phone": holder},
    }
    status, out, _ = call("UnderwriteFunction", body=body, key=world["keys"]["shop-a"], idem=f"idem-{order}")
    return status, out


def audit_actions(p: Any, entity: str, entity_id: str) -> list[tuple[str, Any]]:
    items = p.store.query(audit_repo.entity_pk(entity, entity_id), limit=50).items
    return [(r.action, r.after) for r in audit_repo.load_records(items)]


# ---------------------------------------------------------------- the rule set
def test_rules_are_published_version_by_version_and_read_back(world):
    status, empty, _ = call("RiskRulesFunction", ops=("service",))
    assert status == 200 and empty["version"] == 0 and empty["rules"] == []
    publish([BLOCKED_HOLDER])
    status, stale, _ = call(
        "PublishRiskRulesFunction",
        body={"version": 1, "rules": [], "note": "again"},
        ops=("underwriter",),
    )
    assert status == 409 and stale["error"]["code"] == "RULES_VERSION_CONFLICT"
    status, bad, _ = call(
        "PublishRiskRulesFunction",
        body={"version": 2, "rules": [{"id": "x", "kind": "amount", "stages": ["claim"]}], "note": "n"},
        ops=("underwriter",),
    )
    assert status == 400 and bad["error"]["code"] == "VALIDATION_FAILED"
    status, _, _ = call("PublishRiskRulesFunction", body={"version": 2, "rules": [], "note": "n"}, ops=("service",))
    assert status == 403
    publish([BLOCKED_HOLDER, SHANGHAI_RATE], version=2)
    status, got, _ = call("RiskRulesFunction", ops=("underwriter",))
    assert got["version"] == 2 and [r["id"] for r in got["rules"]] == ["blocked-holders", "sh-rate"]
    assert got["published_by"] == "ops:alice" and got["note"] == "integration test"


# ---------------------------------------------------------------- underwriting
def test_a_blocked_holder_is_refused_and_the_refusal_is_audited(world):
    publish([BLOCKED_HOLDER])
    status, err = underwrite(world, "o-blocked", holder="13900000009")
    assert status == 422 and err["error"]["code"] == "RISK_REFUSED"
    assert "blocked-holders" not in json.dumps(err)  # the channel is not told which rule
    actions = audit_actions(world["p"], "policy_application", "shop-a:o-blocked")
    assert [a for a, _ in actions] == ["risk_refuse"]
    assert [f["rule"] for f in actions[0][1]["decision"]["fired"]] == ["blocked-holders"]
    status, pol = underwrite(world, "o-fine")
    assert status == 201 and pol["risk"]["outcome"] == "pass"


def test_a_review_rule_issues_the_policy_flagged_and_a_shadow_rule_is_only_recorded(world):
    big = {"id": "big-premium", "kind": "amount", "stages": ["underwrite"], "above": "1", "action": "review"}
    shadow = {**BLOCKED_HOLDER, "id": "shadow-block", "mode": "shadow", "values": ["13800000000"]}
    publish([big, shadow])
    status, pol = underwrite(world, "o-review")
    assert status == 201 and pol["status"] == "active"
    assert pol["risk"]["outcome"] == "review"
    assert {(f["rule"], f["shadow"]) for f in pol["risk"]["fired"]} == {("big-premium", False), ("shadow-block", True)}
    actions = audit_actions(world["p"], "policy", pol["number"])
    assert ("risk_review", actions[0][1]) in actions and actions[0][1]["decision"]["outcome"] == "review"


def test_a_rate_factor_is_a_line_of_the_quote_and_the_policy_pays_it(world):
    body = {"product_code": "pet-health", "plan_code": "basic", "insured": PET}
    status, before, _ = call("QuoteFunction", body=body, key=world["keys"]["shop-a"])
    assert status == 200, before
    publish([SHANGHAI_RATE])
    status, after, _ = call("QuoteFunction", body=body, key=world["keys"]["shop-a"])
    risk_line = after["quote"]["lines"][-1]
    assert risk_line == {"dimension": "risk", "value": "sh-rate", "factor": "1.1", "rule": "sh-rate"}
    assert float(after["quote"]["unrounded_premium"]) == pytest.approx(
        float(before["quote"]["unrounded_premium"]) * 1.1
    )
    status, pol = underwrite(world, "o-rated", pet="pet-1")
    assert status == 201 and pol["premium"] == after["quote"]["premium"]
    assert pol["quote"]["lines"][-1]["dimension"] == "risk"


def test_an_endorsement_of_a_rated_insured_carries_the_rate_factor_into_its_new_premium(world):
    publish([SHANGHAI_RATE])
    status, pol = underwrite(world, "o-rated-endorse", pet="pet-e1")
    assert status == 201 and pol["quote"]["lines"][-1]["rule"] == "sh-rate"
    body = {"product_code": "pet-health", "plan_code": "plus", "insured": {**PET, "insured_id": "pet-e1"}}
    status, plus, _ = call("QuoteFunction", body=body, key=world["keys"]["shop-a"])
    assert status == 200 and plus["quote"]["lines"][-1]["rule"] == "sh-rate"
    status, out, _ = call(
        "EndorseFunction",
        path={"number": pol["number"]},
        body={"plan_code": "plus", "reason": "upgrade"},
        key=world["keys"]["shop-a"],
        idem="idem-endorse-rated",
    )
    assert status == 200, out
    assert out["policy"]["quote"] == plus["quote"]  # the same breakdown as a quote for the new plan
    assert out["policy"]["quote"]["lines"][-1] == {
        "dimension": "risk",
        "value": "sh-rate",
        "factor": "1.1",
        "rule": "sh-rate",
    }
    assert out["policy"]["premium"] == plus["quote"]["premium"]  # endorsed on its first day: the whole term
    assert float(out["premium_change"]) == pytest.approx(float(plus["quote"]["premium"]) - float(pol["premium"]))
    status, got, _ = call("GetPolicyFunction", path={"number": pol["number"]}, query={}, key=world["keys"]["shop-a"])
    assert status == 200 and got["premium"] == plus["quote"]["premium"]


def test_parallel_underwrites_for_one_holder_pass_exactly_the_daily_limit(world, atomic_requests, monkeypatch):
    limit = {
        "id": "holder-day",
        "kind": "velocity",
        "stages": ["underwrite"],
        "counter": "policies_per_holder_day",
        "limit": 3,
    }
    publish([limit])
    racers = 8
    # Every racer reads the counter before any of them writes: all see 0 and pass the rule, so only
    # the conditional ADD in the issuing transaction can hold the line.
    barrier = threading.Barrier(racers, timeout=30)
    read = risk_repo.day_count
    waited: set[int] = set()

    def read_then_wait(*args: Any) -> int:
        n = read(*args)
        if threading.get_ident() not in waited:  # the first read of each racer; not a re-check
            waited.add(threading.get_ident())
            barrier.wait()
        return n

    monkeypatch.setattr(risk_repo, "day_count", read_then_wait)
    with ThreadPoolExecutor(max_workers=racers) as pool:
        answers = list(pool.map(lambda i: underwrite(world, f"o-par-{i}"), range(racers)))
    statuses = sorted(s for s, _ in answers)
    assert statuses == [201] * 3 + [422] * 5, answers
    assert {a["error"]["code"] for s, a in answers if s == 422} == {"RISK_REFUSED"}
    monkeypatch.setattr(risk_repo, "day_count", read)
    assert underwrite(world, "o-late")[0] == 422  # the counter stands at the limit
    # Another holder is not held back by this one's counter.
    assert underwrite(world, "o-other", holder="13700000000")[0] == 201


# ---------------------------------------------------------------- claims
def test_a_claim_the_rules_send_to_review_waits_in_the_staff_queue_instead_of_its_automatic_decision(world):
    p = world["p"]
    pol = rs_policy(p, "rs-1")
    big = {"id": "big-claim", "kind": "amount", "stages": ["claim"], "above": "10", "action": "review"}
    publish([big])
    body = {
        "incident_date": (p.now()).date().isoformat(),
        "incident_type": "return_shipment",
        "amount": "12.00",
        "evidence": {"tracking_number": "SF1234567890"},
    }
    body["incident_date"] = (p.now() - timedelta(days=1)).date().isoformat()
    status, claim, _ = call(
        "SubmitClaimFunction", path={"number": pol.number}, body=body, key=world["keys"]["shop-a"], idem="c-1"
    )
    assert status in (200, 201), claim
    assert claim["auto"] is False and claim["review"]["rule"] == "risk"
    assert claim["risk"]["outcome"] == "review" and claim["risk"]["fired"][0]["rule"] == "big-claim"
    status, queue, _ = call("ClaimReviewQueueFunction", ops=("underwriter",))
    assert [e["claim_number"] for e in queue["items"]] == [claim["claim_number"]]
    assert "big-claim" in queue["items"][0]["review"]["reason"]


def test_a_claim_from_a_blocked_holder_is_refused(world):
    p = world["p"]
    pol = rs_policy(p, "rs-2")
    publish([{**BLOCKED_HOLDER, "values": [pol.holder.name]}])
    body = {
        "incident_date": (p.now() - timedelta(days=1)).date().isoformat(),
        "incident_type": "return_shipment",
        "amount": "12.00",
        "evidence": {"tracking_number": "SF1234567890"},
    }
    status, err, _ = call(
        "SubmitClaimFunction", path={"number": pol.number}, body=body, key=world["keys"]["shop-a"], idem="c-2"
    )
    assert status == 422 and err["error"]["code"] == "RISK_REFUSED"


def test_a_policy_cancelled_after_a_claim_counts_against_the_insured(world):
    p = world["p"]
    publish(
        [
            {
                "id": "refund-after-claim",
                "kind": "velocity",
                "stages": ["underwrite"],
                "counter": "refunds_after_claim",
                "limit": 1,
            }
        ]
    )
    claimed = _bookable_policy(world, "o-claimed")
    body = {
        "incident_date": (p.now() - timedelta(days=1)).date().isoformat(),
        "incident_type": "illness",
        "amount": "100.00",
        "evidence": {"documents": ["docs/invoice-1.pdf"]},
    }
    status, claim, _ = call(
        "SubmitClaimFunction", path={"number": claimed}, body=body, key=world["keys"]["shop-a"], idem="c-r"
    )
    assert status in (200, 201), claim
    quiet = _bookable_policy(world, "o-quiet")  # cancelled without a claim: not counted
    for number in (quiet, claimed):
        status, out, _ = call(
            "CancelFunction",
            path={"number": number},
            body={"reason": "customer asked"},
            key=world["keys"]["shop-a"],
            idem=f"cancel-{number}",
        )
        assert status == 200, out
    assert underwrite(world, "o-again-quiet", pet="pet-o-quiet")[0] == 201
    status, err = underwrite(world, "o-again", pet="pet-o-claimed")
    assert status == 422 and err["error"]["code"] == "RISK_REFUSED"


# ---------------------------------------------------------------- bookings
POLICY_ORDERS: dict[str, str] = {}


def _bookable_policy(world: Any, order: str) -> str:
    clock = world["clock"]
    saved = clock.now
    clock.now = saved - timedelta(days=30)  # past the waiting period
    try:
        req = UnderwriteRequest.model_validate(
            {
                "product_code": "pet-health",
                "plan_code": "basic",
                "insured": {**PET, "insured_id": f"pet-{order}"},
                "channel_order_id": order,
                "holder": {"name": "Li Lei", "phone": "13800000000"},
            }
        )
        number = policies.underwrite(world["p"], Principal("channel", "shop-a"), req).number
        POLICY_ORDERS[number] = order
        return number
    finally:
        clock.now = saved


def _book(world: Any, number: str, idem: str, device: str | None = None) -> tuple[int, Any]:
    pet = f"pet-{POLICY_ORDERS[number]}"
    body: dict[str, Any] = {
        "benefit_code": "medicine-delivery",
        "pet": {"pet_id": pet, "name": "Bobo"},
        "address": ADDRESS,
    }
    if device:
        body["device_id"] = device
    status, out, _ = call(
        "BookAppointmentFunction", path={"number": number}, body=body, key=world["keys"]["shop-a"], idem=idem
    )
    return status, out


def _drain(world: Any, logical: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=world["names"][logical], MaxNumberOfMessages=10, WaitTimeSeconds=0)
        msgs = got.get("Messages") or []
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=world["names"][logical], ReceiptHandle=m["ReceiptHandle"])


def test_a_held_booking_waits_for_staff_and_is_dispatched_once_approved(world):
    number = _bookable_policy(world, "o-book-1")
    device_rule = {
        "id": "watched-devices",
        "kind": "blocklist",
        "stages": ["booking"],
        "field": "device",
        "values": ["DEV-9"],
        "action": "review",
    }
    publish([device_rule])
    _drain(world, "DispatchQueue")
    status, booked = _book(world, number, "b-1", device="dev-9")
    assert status == 201, booked
    aid = booked["appointment_id"]
    assert _drain(world, "DispatchQueue") == []  # held: not dispatched
    status, queue, _ = call("BookingReviewQueueFunction", ops=("service",))
    assert status == 200 and [e["appointment_id"] for e in queue["items"]] == [aid]
    assert queue["items"][0]["review"]["decision"]["fired"][0]["rule"] == "watched-devices"
    status, decided, _ = call(
        "DecideBookingReviewFunction",
        path={"appointmentId": aid},
        body={"outcome": "approve", "note": "known customer"},
        ops=("service",),
    )
    assert status == 200 and decided["status"] == "pending" and decided["decided_by"] == "ops:alice"
    assert [m["appointment_id"] for m in _drain(world, "DispatchQueue")] == [aid]
    status, queue, _ = call("BookingReviewQueueFunction", ops=("service",))
    assert queue["items"] == []
    status, again, _ = call(
        "DecideBookingReviewFunction",
        path={"appointmentId": aid},
        body={"outcome": "reject", "note": "twice"},
        ops=("service",),
    )
    assert status == 409 and again["error"]["code"] == "NOT_IN_REVIEW"
    # A booking with nothing watched goes straight to dispatch.
    other = _bookable_policy(world, "o-book-2")
    status, plain = _book(world, other, "b-2")
    assert status == 201 and [m["appointment_id"] for m in _drain(world, "DispatchQueue")] == [plain["appointment_id"]]


def test_a_rejected_held_booking_is_cancelled_and_its_use_released(world):
    number = _bookable_policy(world, "o-book-3")
    publish([{"id": "all-bookings", "kind": "amount", "stages": ["booking"], "above": "0", "action": "review"}])
    # No items: the amount is unknown and the rule does not fire; an address rule does.
    publish(
        [
            {
                "id": "watched-address",
                "kind": "blocklist",
                "stages": ["booking"],
                "field": "address",
                "values": ["310000 310100 310115 Room 1, 100 Century Avenue"],
                "action": "review",
            }
        ],
        version=2,
    )
    status, booked = _book(world, number, "b-3")
    assert status == 201
    aid = booked["appointment_id"]
    status, pol, _ = call("GetPolicyFunction", path={"number": number}, key=world["keys"]["shop-a"])
    held = next(b for b in pol["benefits"] if b["code"] == "medicine-delivery")
    assert held["held"] == 1
    status, decided, _ = call(
        "DecideBookingReviewFunction",
        path={"appointmentId": aid},
        body={"outcome": "reject", "note": "address under investigation"},
        ops=("underwriter",),
    )
    assert status == 200 and decided["status"] == "cancelled"
    status, pol, _ = call("GetPolicyFunction", path={"number": number}, key=world["keys"]["shop-a"])
    freed = next(b for b in pol["benefits"] if b["code"] == "medicine-delivery")
    assert (freed["held"], freed["available"]) == (0, freed["quota"])
    actions = [a for a, _ in audit_actions(world["p"], "appointment", aid)]
    assert "risk_review" in actions and "risk_reject" in actions


# ---------------------------------------------------------------- clearing out a channel
def test_clearing_out_a_channel_revokes_its_keys_lists_its_open_policies_and_refuses_it(world):
    status, pol = underwrite(world, "o-before")
    assert status == 201
    status, out, _ = call(
        "ClearOutChannelFunction", path={"channelId": "shop-a"}, body={"reason": "contract ended"}, ops=("sales",)
    )
    assert status == 200, out
    assert out["channel"]["status"] == "cleared" and out["channel"]["cleared_at"]
    assert out["open_policies"] == [pol["number"]]
    assert out["revoked_keys"] == [world["keys"]["shop-a"][0]]
    status, keys, _ = call("ListChannelKeysFunction", path={"channelId": "shop-a"}, ops=("sales",))
    assert {k["status"] for k in keys["items"]} == {"revoked"}
    authentication.clear_cache()  # as every container sees it within CACHE_SECONDS
    status, err = underwrite(world, "o-after")
    assert status == 403 and err["error"]["code"] == "CHANNEL_CLEARED"
    forged = (world["keys"]["shop-a"][0], "not-the-secret")  # the key id alone learns nothing
    status, err, _ = call("GetPolicyFunction", path={"number": pol["number"]}, key=forged)
    assert status == 401 and err["error"]["code"] == "BAD_SIGNATURE"
    status, seen, _ = call("OpsGetPolicyFunction", path={"number": pol["number"]}, ops=("service",))
    assert status == 200 and seen["number"] == pol["number"] and seen["status"] == "active"
    status, again, _ = call(
        "ClearOutChannelFunction", path={"channelId": "shop-a"}, body={"reason": "again"}, ops=("sales",)
    )
    assert status == 409 and again["error"]["code"] == "ILLEGAL_TRANSITION"
    status, ch, _ = call("GetChannelFunction", path={"channelId": "shop-a"}, ops=("sales",))
    assert ch["status"] == "cleared"
