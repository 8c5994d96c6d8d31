"""Over HTTP against the local cloud: the README's fulfilment walkthrough with the `make call` /
`make provider-call` commands on the seeded data, a provider declining an order, a provider
suspended and resumed, and alarm state changes reaching the ops chat through SNS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.localcloud import ROOT
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
# A function's first call unpacks the layer on the emulator; on a loaded machine that alone can take a minute.
COLD_START = 180

ADDRESS = {
    "contact_name": "Li Lei",
    "phone": "13800000000",
    "line": "1 Century Ave",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}


def demo_routing(stack: Any) -> None:
    """The seeded rules again: other tests of the session publish rule sets of their own."""
    from petcover.services.demo import DEMO_REGIONS, DEMO_SERVICES

    ops = _ops(stack)
    head = ops.get("/ops/dispatch/rules").json["head_version"]
    clinic = {"provider_id": stack.demo["provider"]["id"], "share_pct": 100, "weight": 5, "daily_capacity": 500}
    rules = [
        {"region_code": r, "service_type": s, "providers": [{**clinic, "scope": "regional"}]}
        for r in DEMO_REGIONS
        for s in DEMO_SERVICES
    ]
    assert ops.put("/ops/dispatch/rules", json={"base_version": head, "rules": rules}).status in (200, 201)


class Make:
    """Runs what `make call` and `make provider-call` run, against this session's stack."""

    def __init__(self, stack: Any) -> None:
        run_dir = stack.cloud.run_dir
        (run_dir / "demo.json").write_text(json.dumps(stack.demo))
        self.env = {
            **os.environ,
            "PETCOVER_RUN_DIR": str(run_dir),
            "PETCOVER_CLIENT_TIMEOUT": str(COLD_START),
            "PYTHONPATH": os.pathsep.join(sys.path),
        }

    def __call__(self, method: str, path: str, body: str = "", *, provider: bool = False) -> tuple[int, Any]:
        who = ["--as", "provider"] if provider else []
        done = subprocess.run(
            [sys.executable, "-m", "infra.cli", "call", *who, method, path, body],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COLD_START * 2,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        status, _, answer = done.stdout.partition("\n")
        return int(status), json.loads(answer)


def test_the_readme_walkthrough_on_the_seeded_data(stack):
    demo_routing(stack)
    make = Make(stack)
    policy, pet = stack.demo["policy"]["number"], stack.demo["policy"]["pet_id"]
    body = json.dumps({"benefit_code": "medicine-delivery", "pet": {"pet_id": pet, "name": "Bobo"}, "address": ADDRESS})
    status, booked = make("POST", f"/policies/{policy}/appointments", body)
    assert status == 201 and booked["status"] == "pending", booked  # no waiting period left, no product made
    appt = booked["appointment_id"]
    wait_for(lambda: make("GET", f"/work-orders/{appt}", provider=True)[0] == 200, "the dispatched work order")
    assert make("POST", f"/work-orders/{appt}/accept", provider=True)[0] == 200
    shipped = make("POST", f"/work-orders/{appt}/ship", '{"carrier":"SF","tracking_number":"SF1234567"}', provider=True)
    assert shipped[0] == 200, shipped
    status, received = make("POST", f"/appointments/{appt}/receipt")
    assert status == 200 and received["status"] == "fulfilled"

    def quota() -> dict[str, Any] | None:
        b = {x["code"]: x for x in make("GET", f"/policies/{policy}")[1]["benefits"]}["medicine-delivery"]
        return b if (b["used"], b["held"], b["available"]) == (1, 0, 5) else None

    wait_for(quota, "the quota deduction")


def test_a_declined_order_is_dispatched_again_without_the_provider(stack):
    demo_routing(stack)
    channel = _channel(stack)
    clinic = _provider(stack)
    number, pet = _fresh_policy(stack)
    when = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    booked = channel.post(
        f"/policies/{number}/appointments",
        idempotency_key=uuid.uuid4().hex,
        json={
            "benefit_code": "annual-checkup",
            "pet": {"pet_id": pet, "name": "Mimi"},
            "address": ADDRESS,
            "preferred_time": when,
        },
    )
    assert booked.status == 201, booked.body
    appt = booked.json["appointment_id"]
    wait_for(lambda: clinic.get(f"/work-orders/{appt}").status == 200, "the work order")
    declined = clinic.post(f"/work-orders/{appt}/decline", json={"reason": "no vet on duty"})
    assert declined.status == 200 and declined.json["redispatch"], declined.body
    ops = _ops(stack)

    def redispatched() -> dict[str, Any] | None:
        rec = ops.get(f"/ops/appointments/{appt}/dispatch").json
        return rec if rec.get("round") == 1 and rec.get("state") == "manual" else None

    rec = wait_for(redispatched, "the second dispatch")  # the demo clinic was the only one: ops decide
    assert rec["decision"]["excluded"][stack.demo["provider"]["id"]] == "declined the order: no vet on duty"
    assert appt in [e["appointment_id"] for e in ops.get("/ops/dispatch/manual-queue").json["items"]]
    assert clinic.get(f"/work-orders/{appt}").status == 404
    refused = ops.post(
        f"/ops/appointments/{appt}/assign", json={"provider_id": stack.demo["provider"]["id"], "reason": "call them"}
    )
    assert refused.status == 422 and refused.json["error"]["code"] == "PROVIDER_DECLINED"


def test_a_suspended_provider_gets_no_new_orders_until_resumed(stack):
    demo_routing(stack)
    provider_id = stack.demo["provider"]["id"]
    clinic, ops, channel = _provider(stack), _ops(stack), _channel(stack)
    number, pet = _fresh_policy(stack)
    held = _book(channel, number, pet)
    wait_for(lambda: clinic.get(f"/work-orders/{held}").status == 200, "the work order")
    suspended = ops.post(f"/ops/partners/{provider_id}/suspend", json={"reason": "licence under review"})
    try:
        assert suspended.status == 200 and suspended.json["account"]["status"] == "suspended", suspended.body
        assert {o["appointment_id"]: o["reassignable"] for o in suspended.json["open_orders"]}.get(held) is True
        refused = wait_for(lambda: (r := clinic.get("/work-orders")).status == 403 and r, "its calls refused")
        assert refused.json["error"]["code"] == "PARTNER_INACTIVE"
        other, other_pet = _fresh_policy(stack)
        fresh = channel.post(
            f"/policies/{other}/appointments",
            idempotency_key=uuid.uuid4().hex,
            json={
                "benefit_code": "medicine-delivery",
                "pet": {"pet_id": other_pet, "name": "Mimi"},
                "address": ADDRESS,
            },
        ).json["appointment_id"]
        rec = wait_for(
            lambda: (
                (r := ops.get(f"/ops/appointments/{fresh}/dispatch")).status == 200
                and r.json["state"] != "pending"
                and r.json
            ),
            "a settled dispatch decision",
        )
        assert rec["state"] == "manual" and rec["decision"]["provider_id"] is None
        assert "an active, reviewed provider" in rec["decision"]["excluded"][provider_id]
    finally:
        resumed = ops.post(f"/ops/partners/{provider_id}/resume", json={"reason": "licence renewed"})
        assert resumed.status == 200 and resumed.json["account"]["status"] == "active", resumed.body
    wait_for(lambda: clinic.get("/work-orders").status == 200, "its calls accepted again")
    trail = ops.get(f"/ops/audit/entities/partner/{provider_id}").json["items"]
    assert [r["reason"] for r in trail if r["action"] in ("suspend", "resume")][:2] == [
        "licence renewed",
        "licence under review",
    ]


def _book(channel: Any, number: str, pet: str) -> str:
    body = {"benefit_code": "medicine-delivery", "pet": {"pet_id": pet, "name": "Mimi"}, "address": ADDRESS}
    booked = channel.post(f"/policies/{number}/appointments", idempotency_key=uuid.uuid4().hex, json=body)
    assert booked.status == 201, booked.body
    return str(booked.json["appointment_id"])


def _provider(stack: Any) -> Any:
    from petcover.client import PetcoverClient

    p = stack.demo["provider"]
    return PetcoverClient(stack.base, p["key_id"], p["secret"], timeout=COLD_START)


def _channel(stack: Any) -> Any:
    from petcover.client import PetcoverClient

    c = stack.demo["channel"]
    return PetcoverClient(stack.base, c["key_id"], c["secret"], timeout=COLD_START)


def _ops(stack: Any) -> Any:
    from infra.credentials import ops_token
    from petcover.client import OpsClient

    return OpsClient(stack.base, ops_token(["ops"], "e2e"), timeout=COLD_START)


def _fresh_policy(stack: Any) -> tuple[str, str]:
    """(number, pet) of a policy past its waiting period, sold the seed's way (30 days ago, on the stack's table)."""
    from infra import seed
    from petcover.services import demo as demo_data

    ports = seed._ports(stack.cloud)
    pet = f"e2e-pet-{uuid.uuid4().hex[:8]}"
    return demo_data.sell_past_policy(ports, order=f"e2e-{pet}", pet=pet).number, pet


def _sink_chat(stack: Any) -> list[str]:
    return [json.loads(r["body"])["text"] for r in stack.cloud.sink_requests() if r["path"] == "/chat/ops"]


def test_alarm_state_changes_reach_the_ops_chat(stack):
    cloud = stack.cloud
    cw = cloud._boto("cloudwatch")
    topic = cloud.resources["AlarmTopic"]
    deployed = {a["AlarmName"]: a for a in cw.describe_alarms(MaxRecords=100)["MetricAlarms"]}
    ours = [cloud.resources[name] for name in cloud.resources if name in _template_alarms()]
    assert ours and all(deployed[n]["AlarmActions"] == [topic] == deployed[n]["OKActions"] for n in ours)
    assert cw.get_dashboard(DashboardName="petcover-local")["DashboardBody"]

    alarm = cloud.resources["DeadLetterAlarmDispatch"]
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="e2e: a message reached the DispatchDLQ")
    said = wait_for(lambda: [t for t in _sink_chat(stack) if alarm in t and "【告警】" in t], "the alarm in the chat")
    assert "派单死信队列" in said[0] and "- 状态：" in said[0] and "e2e: a message reached the DispatchDLQ" in said[0]
    cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="e2e: drained")
    wait_for(lambda: [t for t in _sink_chat(stack) if alarm in t and "【恢复】" in t], "the recovery in the chat")

    before = len(_sink_chat(stack))
    assert cloud.fire("AlarmForwardFunction") == {"notifications": 1, "results": ["sent"]}  # what `make fire` does
    assert cloud.fire("AlarmForwardFunction") == {"notifications": 1, "results": ["sent"]}  # a new notification
    assert len([t for t in _sink_chat(stack)[before:] if "DeadLetterAlarmDispatch-SAMPLE" in t]) == 2


def _template_alarms() -> set[str]:
    from infra import template

    return set(template.alarms())
