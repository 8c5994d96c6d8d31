"""The quality loop over HTTP on the local cloud, with its own provider, product and policy: an owner's
rating (signed, once, idempotent), a complaint, the monthly assessment fired on demand and re-run
without double counting, a share proposal that only another staff member can approve, and the next
order's dispatch explanation naming the assessment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.demo_booking import ADDRESS, policy_without_waiting
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


def _ops(stack: Any, sub: str, *roles: str) -> Any:
    from infra.credentials import ops_token
    from petcover.client import OpsClient

    return OpsClient(stack.base, ops_token(list(roles or ("ops",)), sub), timeout=30)


def _provider(stack: Any, ops: Any) -> tuple[str, Any]:
    """A new provider through the real onboarding, serving medicine delivery in Shanghai."""
    from petcover.client import PetcoverClient

    acc = ops.post(
        "/ops/partners",
        idempotency_key=uuid.uuid4().hex,
        json={"kind": "provider", "name": f"Quality Clinic {uuid.uuid4().hex[:6]}", "agreement_ref": "AGR-Q"},
    )
    assert acc.status == 201, acc.body
    pid = acc.json["id"]
    key = ops.post(f"/ops/partners/{pid}/keys")
    assert key.status == 201, key.body
    prov = PetcoverClient(stack.base, key.json["key_id"], key.json["secret"], timeout=30)
    doc = prov.post(
        "/partner/documents",
        idempotency_key=uuid.uuid4().hex,
        json={"type": "business_licence", "file_name": "l.pdf", "content_type": "application/pdf"},
    )
    assert doc.status in (200, 201), doc.body
    config = {
        "services": [{"service_type": "medicine_delivery", "mode": "online_shipping"}],
        "regions": [{"province": "310000"}],
        "daily_capacity": 100,
        "contacts": [
            {"name": "Desk", "channel": "slack", "webhook_url": f"{stack.cloud.sink_url}/chat/q", "mention": "U1"}
        ],
        "documents": [
            {
                "type": "business_licence",
                "number": "91310115Q",
                "expires_on": "2030-01-01",
                "file_key": doc.json["file_key"],
            }
        ],
    }
    assert prov.put("/partner/config", json=config).status == 200
    assert prov.post("/partner/config/submit").status == 200
    assert ops.post(f"/ops/partners/{pid}/config/approve", json={"note": "ok"}).status == 200
    return pid, prov


def _route_to(ops: Any, pid: str) -> None:
    """Pudong medicine deliveries to this provider alone (other rules stay as they are)."""
    current = ops.get("/ops/dispatch/rules").json
    kept = [
        r
        for r in ((current.get("in_effect") or {}).get("rules") or [])
        if (r["region_code"], r["service_type"]) != ("310115", "medicine_delivery")
    ]
    mine = {
        "region_code": "310115",
        "service_type": "medicine_delivery",
        "providers": [{"provider_id": pid, "share_pct": 100, "weight": 0, "daily_capacity": 100, "scope": "regional"}],
    }
    published = ops.put("/ops/dispatch/rules", json={"base_version": current["head_version"], "rules": [*kept, mine]})
    assert published.status in (200, 201), published.body


def _book(channel: Any, prov: Any, number: str, pet: str) -> str:
    body = {"benefit_code": "medicine-delivery", "pet": {"pet_id": pet, "name": "Mimi"}, "address": ADDRESS}
    booked = channel.post(f"/policies/{number}/appointments", idempotency_key=uuid.uuid4().hex, json=body)
    assert booked.status in (200, 201, 202), booked.body
    appt = booked.json["appointment_id"]

    def assigned() -> bool:
        try:
            return bool(prov.get(f"/work-orders/{appt}").status == 200)
        except TimeoutError:  # a cold start on a loaded machine: ask again
            return False

    try:
        wait_for(assigned, "the work order at the provider")
    except AssertionError as missing:  # say where the booking stopped, not only that it did
        from infra.credentials import ops_token
        from petcover.client import OpsClient

        staff = OpsClient(channel.base_url, ops_token(["ops"], "quality-probe"), timeout=30)
        raise AssertionError(f"{missing}; the appointment: {staff.get(f'/ops/appointments/{appt}').body}") from None
    return str(appt)


def test_rating_assessment_and_an_approved_share_change_reach_dispatch(stack, restore_dispatch_rules):
    alice, bob = _ops(stack, "alice", "ops", "service"), _ops(stack, "bob", "ops")
    channel = stack.channel_client()
    pid, prov = _provider(stack, alice)
    _route_to(alice, pid)
    number, pet = policy_without_waiting(stack, channel)
    appt = _book(channel, prov, number, pet)
    assert prov.post(f"/work-orders/{appt}/accept").status == 200
    # 1. a rating before fulfilment is refused; after it, taken once; a retry with its key replays
    early = channel.post(f"/appointments/{appt}/rating", idempotency_key=uuid.uuid4().hex, json={"score": 5})
    assert early.status == 422 and early.json["error"]["code"] == "NOT_YET_FULFILLED", early.body
    ship = {"carrier": "SF", "tracking_number": "SF7654321"}
    assert prov.post(f"/work-orders/{appt}/ship", json=ship).status == 200
    assert channel.post(f"/appointments/{appt}/receipt").status == 200
    rating = {"score": 4, "tags": ["fast"], "comment": "arrived quickly"}
    key = uuid.uuid4().hex
    first = channel.post(f"/appointments/{appt}/rating", idempotency_key=key, json=rating)
    assert first.status == 201 and first.json["provider_id"] == pid, first.body
    replay = channel.post(f"/appointments/{appt}/rating", idempotency_key=key, json=rating)
    assert replay.status == 201 and replay.header("Idempotency-Replayed") == "true"
    again = channel.post(f"/appointments/{appt}/rating", idempotency_key=uuid.uuid4().hex, json={"score": 1})
    assert again.status == 409 and again.json["error"]["code"] == "ALREADY_RATED"
    # 2. ops record a complaint against the work order
    complaint = {"category": "quality", "description": "box damaged", "reason": "owner phoned the hotline"}
    made = alice.post(f"/ops/work-orders/{appt}/complaints", idempotency_key=uuid.uuid4().hex, json=complaint)
    assert made.status == 201 and made.json["provider_id"] == pid, made.body
    # 3. the monthly assessment, fired for this month; graded once the minimum sample is one order
    from petcover.domain import calendar

    month = calendar.month_of(datetime.now(UTC))
    rules = alice.get("/ops/quality/rules").json
    rules["rules"]["min_orders"], rules["rules"]["min_ratings"] = 1, 1
    saved = alice.put("/ops/quality/rules", json={"rules": rules["rules"], "base_version": rules["version"]})
    assert saved.status == 201, saved.body
    event = {"detail": {"month": month}}
    stack.cloud.invoke("QualityAssessFunction", event)
    ran = stack.cloud.invoke("QualityAssessFunction", event)  # a re-run replaces, never adds
    assert ran["month"] == month and ran["runs"] >= 2, ran
    got = alice.get(f"/ops/quality/assessments/{month}", query={"provider_id": pid})
    assert got.status == 200, got.body
    [mine] = got.json["providers"]
    assert mine["inputs"]["orders"] == 1 and mine["inputs"]["complaints"] == 1
    assert (mine["average_rating"], mine["rating_sample"]) == (4.0, 1)
    assert {n["node"] for n in mine["on_time_by_node"]} >= {"accepted", "shipped"}
    assert mine["grade"] is not None and mine["score"] is not None
    # 4. applying proposes shares (maker); the proposer cannot approve; another staff member does
    prop = alice.post(f"/ops/quality/assessments/{month}/apply", idempotency_key=uuid.uuid4().hex, json={})
    assert prop.status == 201 and prop.json["state"] == "pending", prop.body
    pid_changes = [c for c in prop.json["changes"] if c["provider_id"] == pid]
    assert pid_changes and all(c["after_pct"] == 100 for c in pid_changes)  # alone in its rule: stays at 100
    path = f"/ops/quality/proposals/{prop.json['proposal_id']}/decision"
    own = alice.post(path, json={"decision": "approve"})
    assert own.status == 403 and own.json["error"]["code"] == "SAME_STAFF_MEMBER"
    approved = bob.post(path, json={"decision": "approve", "reason": "checked"})
    assert approved.status == 200 and approved.json["state"] == "approved", approved.body
    # 5. the next order's dispatch explanation names the assessment that shaped its shares
    appt2 = _book(channel, prov, number, pet)
    why = alice.get(f"/ops/appointments/{appt2}/dispatch").json["decision"]
    assert why["provider_id"] == pid and why["rule_version"] == approved.json["published_version"]
    assert why["assessment"].startswith(f"quality assessment {month} (proposal {prop.json['proposal_id']}")
