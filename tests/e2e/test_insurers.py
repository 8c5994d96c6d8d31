"""e2e: insurer channels over HTTP on the local cloud, against the mock insurer that ``make run``
starts. The test makes its own insurer, endpoint and routing; the mock is told how to behave."""

from __future__ import annotations

import json
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.waiting import wait_for


def _mock(stack: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"{stack.cloud.insurer_url}/_mock/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _channel(stack: Any) -> Any:
    """The demo channel, patient: the first call may meet a cold function on a loaded machine."""
    from petcover.client import PetcoverClient

    return PetcoverClient(stack.base, stack.demo["channel"]["key_id"], stack.demo["channel"]["secret"], timeout=90)


def _underwrite(channel: Any, order: str, product_code: str) -> Any:
    body = {
        "product_code": product_code,
        "plan_code": "basic",
        "insured": {
            "insured_id": f"e2e-ins-{order}",
            "species": "dog",
            "breed_size": "small",
            "age_months": 30,
            "region": "310115",
        },
        "channel_order_id": order,
        "holder": {"name": "Li Lei"},
    }
    return channel.post("/policies", json=body, idempotency_key=uuid.uuid4().hex)


@dataclass(frozen=True)
class Routed:
    insurer_id: str
    product_code: str


def _own_product(ops: Any) -> str:
    """A product of this module's own, which no warm underwrite container has read routing for yet
    (a container reads a product's routing at most five seconds old)."""
    from petcover.seed.products import PET_HEALTH

    code = f"e2e-ins-{uuid.uuid4().hex[:6]}"
    spec = PET_HEALTH.model_dump(mode="json") | {"code": code}
    assert ops.post("/ops/products", json=spec, idempotency_key=uuid.uuid4().hex).status == 201
    assert ops.post(f"/ops/products/{code}/publish", json={}).status == 200
    contract = {"product_code": code, "permissions": ["quote", "underwrite", "query"], "effective_from": "2026-01-01"}
    made = ops.post("/ops/channels/demo-shop/contracts", idempotency_key=uuid.uuid4().hex, json=contract)
    assert made.status == 201, made.body
    return code


@pytest.fixture(scope="module")
def insurer(stack: Any) -> Routed:
    ops = stack.ops_client("ops", "underwriter", "sales")  # underwriters make products, sales sign contracts
    product = _own_product(ops)
    acc = ops.post(
        "/ops/partners",
        idempotency_key=uuid.uuid4().hex,
        json={"kind": "insurer", "name": f"E2E Insurer {uuid.uuid4().hex[:6]}", "agreement_ref": "AGR-INS"},
    )
    assert acc.status == 201, acc.body
    insurer_id = acc.json["id"]
    saved = ops.put(
        f"/ops/insurers/{insurer_id}/endpoint",
        json={"url": f"{stack.cloud.insurer_url}/e2e", "timeout_ms": 1500, "retries": 0},
    )
    assert saved.status == 200, saved.body
    _mock(stack, "keys", {"key_id": saved.json["key_id"], "secret": saved.json["secret"]})
    routes = {"routes": [{"insurer_id": insurer_id, "weight": 1}, {"insurer_id": "petcover", "weight": 0}]}
    put = ops.put(f"/ops/products/{product}/insurers", json=routes)
    assert put.status == 200 and put.json["version"] >= 1, put.body
    return Routed(insurer_id, product)


def test_an_answering_insurer_issues_through_the_signed_call(stack, insurer):
    _mock(stack, "mode", {"mode": "answer", "delay_ms": 50})
    try:
        got = _underwrite(_channel(stack), f"ins-a-{uuid.uuid4().hex[:8]}", insurer.product_code)
    except OSError:
        log = (stack.cloud.run_dir / "ministack.log").read_text(errors="replace").splitlines()
        pytest.fail("underwrite did not answer; the emulator's log ends:\n" + "\n".join(log[-40:]))
    assert got.status == 201, got.body
    pol = got.json
    assert pol["status"] == "active" and pol["insurer"]["insurer_id"] == insurer.insurer_id
    assert pol["insurer"]["insurer_policy_number"].startswith("MI")
    assert pol["number"] in _mock(stack, "book")["book"]  # our idempotency key, signature verified
    view = stack.ops_client("ops").get(f"/ops/products/{insurer.product_code}/insurers")
    assert view.status == 200
    assert {c["insurer_id"]: c["month_count"] for c in view.json["candidates"]}[insurer.insurer_id] >= 1


def test_a_rejecting_insurer_passes_the_order_to_in_house(stack, insurer):
    _mock(stack, "mode", {"mode": "reject", "delay_ms": 0})
    got = _underwrite(_channel(stack), f"ins-r-{uuid.uuid4().hex[:8]}", insurer.product_code)
    assert got.status == 201, got.body
    assert got.json["insurer"]["insurer_id"] == "petcover" and got.json["insurer"]["reason"] == "failover"
    assert [a["outcome"] for a in got.json["insurer"]["attempts"]] == ["rejected", "issued"]


def test_a_late_answer_is_202_then_settled_by_the_schedule_with_a_webhook(stack, insurer):
    channel = _channel(stack)
    _mock(stack, "mode", {"mode": "late", "hang_ms": 4000})
    got = _underwrite(channel, f"ins-l-{uuid.uuid4().hex[:8]}", insurer.product_code)
    assert got.status == 202, got.body
    assert got.header("Retry-After") == "5"
    number = got.json["number"]
    assert channel.get(f"/policies/{number}").json["status"] == "pending_insurer"
    _mock(stack, "mode", {"mode": "answer", "delay_ms": 0})

    def settled() -> Any:
        stack.cloud.fire("InsurerSettleFunction")
        pol = channel.get(f"/policies/{number}").json
        return pol if pol["status"] != "pending_insurer" else None

    pol = wait_for(settled, "the settle schedule to settle the policy", 120, every=5)
    assert pol["status"] == "active" and pol["insurer"]["insurer_id"] == insurer.insurer_id  # the late issue stands

    def webhook() -> Any:
        for r in stack.cloud.sink_requests():
            body = json.loads(r["body"] or "{}") if r["path"].startswith("/hooks") else {}
            if body.get("event_type") == "policy.issued" and body.get("object_id") == number:
                return body
        return None

    event = wait_for(webhook, "the policy.issued webhook at the channel", 90, every=2)
    assert event["data"]["insurer_id"] == insurer.insurer_id and event["data"]["status"] == "active"
