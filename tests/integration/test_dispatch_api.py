"""Smart dispatch end to end: the routed handlers in-process against moto, events from events/.

Providers are onboarded through the partner service (their own flow is tested elsewhere); rules are
published, appointments delivered, explained, simulated and assigned by hand through the handlers.
Most tests put a recorder in place of ``fulfilment.assignment.assign`` to see exactly what dispatch hands over;
the last one runs the real fulfilment on both sides (booking -> DispatchQueue -> consumer -> assign).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from petcover import runtime
from petcover.config import get_settings
from petcover.services import audit
from petcover.services.dispatch import assignment, handoff
from petcover.services.fulfilment import booking, views
from tests.support import events
from tests.support.bookings import SHOP, offline
from tests.support.calls import call, handler_of
from tests.support.clock import Clock
from tests.support.dispatch import Assigned, message, rule
from tests.support.fixtures import catalogue
from tests.support.policies import issue_policy
from tests.support.providers import onboard_provider

HANGZHOU = {"province": "330000", "city": "330100", "district": "330106"}


@pytest.fixture
def assigned(aws, monkeypatch: pytest.MonkeyPatch) -> Assigned:
    recorder = Assigned()
    monkeypatch.setattr(handoff, "default_assign", lambda: recorder)
    assignment.clear_caches()
    return recorder


@pytest.fixture
def clinics(aws) -> list[str]:
    p = runtime.ports()
    return [onboard_provider(p, f"Clinic {c}") for c in "ABC"]


def deliver(bodies: list[Any], receive_count: int = 1) -> dict[str, Any]:
    ev = events.sqs("DispatchConsumeFunction", bodies, receive_count=receive_count)
    return handler_of("DispatchConsumeFunction")(ev, None)  # type: ignore[no-any-return]


def test_ops_publish_rules_dispatch_appointments_and_ask_why(clinics, assigned):
    a, b, c = clinics
    status, body, _ = call("PublishDispatchRulesFunction", body={"rules": [rule({a: 50, b: 30, c: 10})]}, ops=("ops",))
    assert status == 400 and body["error"]["code"] == "DISPATCH_RULES_INVALID"
    assert body["error"]["details"][0]["actual_sum"] == 90
    assert "add up to 90, not 100" in body["error"]["message"]

    status, body, _ = call("PublishDispatchRulesFunction", body={"rules": [rule({a: 50, b: 30})]}, ops=("sales",))
    assert status == 403

    status, v1, _ = call(
        "PublishDispatchRulesFunction", body={"rules": [rule({a: 50, b: 30, c: 20})], "note": "launch"}, ops=("ops",)
    )
    assert status == 201, v1
    assert v1["version"] == 1 and v1["status"] == "in_effect" and v1["published_by"] == "ops:alice"

    bodies: list[Any] = [message(i) for i in range(6)]
    bodies.append({"appointment_id": "broken"})  # malformed: reported alone, the others are done
    out = deliver(bodies)
    assert out["batchItemFailures"] == [{"itemIdentifier": "m-6"}]
    first = {aid: pid for aid, pid, _ in assigned.calls}
    assert set(first) == {f"ap-{i}" for i in range(6)} and None not in first.values()

    status, why, _ = call("DispatchExplainFunction", path={"appointmentId": "ap-5"}, ops=("ops",))
    assert status == 200, why
    d = why["decision"]
    assert why["state"] == "assigned" and d["provider_id"] == first["ap-5"]
    assert d["rule_version"] == 1 and d["step"] in ("deviation", "weighted_random", "exclusive")
    assert {x["provider_id"]: x["target_pct"] for x in d["candidates"]} == {a: 50.0, b: 30.0, c: 20.0}
    assert sum(x["assigned_today"] for x in d["candidates"]) == 5  # what it saw before it was counted
    assert d["provider_id"] in d["reason"]

    # SQS delivers the batch again: fulfilment is handed the same decisions, nothing is counted twice
    assert deliver(bodies[:6], receive_count=2)["batchItemFailures"] == []
    assert len(assigned.calls) == 12
    assert {aid: pid for aid, pid, _ in assigned.calls[6:]} == first
    status, view, _ = call(
        "DispatchCountersFunction", query={"region_code": "310115", "service_type": "checkup"}, ops=("ops",)
    )
    assert status == 200 and view["total"] == 6
    assert {x["provider_id"]: x["assigned"] for x in view["providers"] if x["assigned"]} == dict(
        Counter(first.values())
    )

    status, missing, _ = call("DispatchExplainFunction", path={"appointmentId": "nope"}, ops=("ops",))
    assert status == 404 and missing["error"]["code"] == "DISPATCH_NOT_FOUND"


def test_rules_versions_stay_readable(clinics, assigned):
    a, b, _ = clinics
    assert call("PublishDispatchRulesFunction", body={"rules": [rule({a: 100})]}, ops=("ops",))[0] == 201
    status, body, _ = call(
        "PublishDispatchRulesFunction", body={"rules": [rule({a: 50, b: 50})], "base_version": 0}, ops=("ops",)
    )
    assert status == 409 and body["error"]["code"] == "RULES_CHANGED"
    status, v2, _ = call(
        "PublishDispatchRulesFunction",
        body={"rules": [rule({a: 50, b: 50})], "base_version": 1, "effective_at": "2999-01-01T00:00:00+08:00"},
        ops=("ops",),
    )
    assert status == 201 and v2["status"] == "scheduled"
    status, view, _ = call("ListDispatchRulesFunction", ops=("ops",))
    assert status == 200
    assert view["in_effect"]["version"] == 1 and view["scheduled"] == [2] and view["head_version"] == 2
    assert [(v["version"], v["status"]) for v in view["versions"]] == [(2, "scheduled"), (1, "in_effect")]
    status, one, _ = call("GetDispatchRulesFunction", path={"version": "1"}, ops=("ops",))
    assert status == 200 and one["rules"][0]["providers"][0]["share_pct"] == 100
    assert call("GetDispatchRulesFunction", path={"version": "9"}, ops=("ops",))[0] == 404
    # the future version does not apply yet
    assert deliver([message(1)])["batchItemFailures"] == []
    assert assigned.calls[0][1] == a and assigned.calls[0][2]["rule_version"] == 1


def test_orders_nobody_covers_wait_for_ops_who_assign_them_by_hand(clinics, assigned):
    a, *_ = clinics
    p = runtime.ports()
    zj = onboard_provider(p, "Hangzhou Vet", regions=({"province": "330000"},))
    assert call("PublishDispatchRulesFunction", body={"rules": [rule({a: 100})]}, ops=("ops",))[0] == 201
    assert deliver([message("hz-1", region=HANGZHOU)])["batchItemFailures"] == []
    assert assigned.calls[-1][:2] == ("ap-hz-1", None)

    status, queue, _ = call("DispatchManualQueueFunction", ops=("ops",))
    assert status == 200 and [e["appointment_id"] for e in queue["items"]] == ["ap-hz-1"]
    status, gaps, _ = call("DispatchCoverageGapsFunction", ops=("ops",))
    assert status == 200
    assert [(g["region_code"], g["service_type"], g["count"], g["last_kind"]) for g in gaps["items"]] == [
        ("330106", "checkup", 1, "no_rule")
    ]

    status, body, _ = call(
        "ManualAssignFunction", path={"appointmentId": "ap-hz-1"}, body={"provider_id": a, "reason": "x"}, ops=("ops",)
    )
    assert status == 422 and body["error"]["code"] == "PROVIDER_CANNOT_SERVE"
    status, rec, _ = call(
        "ManualAssignFunction",
        path={"appointmentId": "ap-hz-1"},
        body={"provider_id": zj, "reason": "phoned the clinic"},
        ops=("ops",),
    )
    assert status == 200, rec
    assert rec["state"] == "overridden" and rec["decision"]["step"] == "manual_override"
    assert rec["decision"]["decided_by"] == "ops:alice" and rec["history"][0]["step"] == "manual"
    assert assigned.calls[-1][:2] == ("ap-hz-1", zj)
    assert call("DispatchManualQueueFunction", ops=("ops",))[1]["items"] == []
    (trail,) = audit.by_entity(p, "appointment_dispatch", "ap-hz-1")
    assert trail.actor == "ops:alice" and trail.reason == "phoned the clinic"
    status, why, _ = call("DispatchExplainFunction", path={"appointmentId": "ap-hz-1"}, ops=("ops",))
    assert why["decision"]["provider_id"] == zj


def test_simulation_returns_shares_and_writes_nothing(aws):
    draft = {"rules": [rule({"a": 50, "b": 30, "c": 20})], "orders": 20_000, "seed": 11}
    status, out, _ = call("SimulateDispatchFunction", body=draft, ops=("ops",))
    assert status == 200, out
    assert out["orders"] == 20_000 and out["manual"] == 0 and out["max_final_deviation_pp"] <= 0.5
    assert {o["provider_id"]: round(o["final_pct"]) for o in out["providers"]} == {"a": 50, "b": 30, "c": 20}
    assert call("ListDispatchRulesFunction", ops=("ops",))[1]["head_version"] == 0
    status, body, _ = call("SimulateDispatchFunction", body={**draft, "orders": 100_001}, ops=("ops",))
    assert status == 400 and body["error"]["code"] == "VALIDATION_FAILED"
    bad = {"rules": [rule({"a": 50, "b": 30, "c": 30})], "orders": 10}
    status, body, _ = call("SimulateDispatchFunction", body=bad, ops=("ops",))
    assert status == 400 and body["error"]["details"][0]["actual_sum"] == 110


def test_midnight_schedule_initialises_the_counters(clinics, assigned):
    a, b, c = clinics
    assert call("PublishDispatchRulesFunction", body={"rules": [rule({a: 50, b: 30, c: 20})]}, ops=("ops",))[0] == 201
    out = handler_of("InitDispatchCountersFunction")(events.schedule("InitDispatchCountersFunction"), None)
    assert out["scopes"] == 1 and out["counters"] == 4 and out["created"] == 4
    status, view, _ = call(
        "DispatchCountersFunction", query={"region_code": "310115", "service_type": "checkup"}, ops=("ops",)
    )
    assert status == 200 and view["business_date"] == out["date"]
    assert [(x["provider_id"], x["assigned"], x["target_pct"]) for x in view["providers"]] == [
        (a, 0, 50.0),
        (b, 0, 30.0),
        (c, 0, 20.0),
    ]


def test_a_booking_travels_through_the_dispatch_queue_to_its_provider(clinics):
    """Real fulfilment on both sides: book, read DispatchQueue in moto, consume, provider assigned."""
    a, b, _ = clinics
    p = runtime.ports()
    now = datetime.now(UTC)
    clock = Clock(now - timedelta(days=60))
    p.clock = clock
    catalogue(p, ("shop-a",))
    clock.now = now
    number = issue_policy(p, clock)
    assert call("PublishDispatchRulesFunction", body={"rules": [rule({a: 50, b: 50})]}, ops=("ops",))[0] == 201

    aid = booking.book_appointment(p, SHOP, number, offline(clock)).appointment_id
    sqs = boto3.client("sqs", region_name="us-east-1")
    got = sqs.receive_message(QueueUrl=get_settings().dispatch_queue_url, MaxNumberOfMessages=10)
    (m,) = got["Messages"]
    body = json.loads(m["Body"])
    assert body["appointment_id"] == aid
    assert deliver([body])["batchItemFailures"] == []
    appt = views.get_for_staff(p, aid).appointment
    assert appt.status == "booking" and appt.provider_id in (a, b)
    status, why, _ = call("DispatchExplainFunction", path={"appointmentId": aid}, ops=("ops",))
    assert status == 200 and why["decision"]["provider_id"] == appt.provider_id
    assert deliver([body], receive_count=2)["batchItemFailures"] == []  # again: fulfilment no-op, no count
    status, view, _ = call(
        "DispatchCountersFunction", query={"region_code": "310115", "service_type": "checkup"}, ops=("ops",)
    )
    assert view["total"] == 1
