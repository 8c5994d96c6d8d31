"""Over HTTP against the local cloud: health, signed channel calls, idempotency, isolation."""

import json
import time
import uuid

import pytest

pytestmark = pytest.mark.e2e

PET = {"insured_id": "pet-e2e", "species": "dog", "breed_size": "small", "age_months": 30, "region": "310115"}


def _underwrite_body(order: str, pet: str) -> dict:
    return {
        "product_code": "pet-health",
        "plan_code": "basic",
        "insured": {**PET, "insured_id": pet},
        "channel_order_id": order,
        "holder": {"name": "Li Lei"},
    }


def test_health_route_answers(stack):
    import urllib.request

    with urllib.request.urlopen(f"{stack.base}/health", timeout=30) as r:
        body = json.loads(r.read())
    assert body["status"] == "ok" and body["stage"] == "local"


def test_signed_quote_and_underwrite_with_idempotent_replay(stack):
    client = stack.channel_client()
    q = client.post("/quotes", json={"product_code": "pet-health", "plan_code": "basic", "insured": PET})
    assert q.status == 200, q.body
    assert q.json["quote"]["premium"] == "430.92"
    key = uuid.uuid4().hex
    first = client.post("/policies", json=_underwrite_body("e2e-1", "pet-e2e-1"), idempotency_key=key)
    assert first.status == 201, first.body
    again = client.post("/policies", json=_underwrite_body("e2e-1", "pet-e2e-1"), idempotency_key=key)
    assert again.status == 201 and again.json["number"] == first.json["number"]
    assert again.header("Idempotency-Replayed") == "true"
    other = client.post("/policies", json=_underwrite_body("e2e-2", "pet-e2e-1"), idempotency_key=key)
    assert other.status == 409 and other.json["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    got = client.get(f"/policies/{first.json['number']}")
    assert got.status == 200 and got.json["channel_order_id"] == "e2e-1"
    by_order = client.get("/orders/e2e-1/policy")
    assert by_order.status == 200 and by_order.json["number"] == first.json["number"]


def test_bad_signature_and_other_channel_are_refused(stack):
    bad = stack.channel_client((stack.demo["channel"]["key_id"], "not-the-secret"))
    r = bad.post("/quotes", json={"product_code": "pet-health", "plan_code": "basic", "insured": PET})
    assert r.status == 401 and r.json["error"]["code"] == "BAD_SIGNATURE"

    ops = stack.ops_client("sales")
    assert (
        ops.post(
            "/ops/channels",
            json={"id": "other-shop", "name": "Other", "callback_url": f"{stack.cloud.sink_url}/hooks/other"},
            idempotency_key="o1",
        ).status
        == 201
    )
    assert (
        ops.post(
            "/ops/channels/other-shop/contracts",
            idempotency_key="o2",
            json={
                "product_code": "pet-health",
                "permissions": ["quote", "underwrite", "query"],
                "effective_from": "2026-01-01",
            },
        ).status
        == 201
    )
    key = ops.post("/ops/channels/other-shop/keys").json
    other = stack.channel_client((key["key_id"], key["secret"]))
    mine = stack.channel_client().post(
        "/policies", json=_underwrite_body("iso-1", "pet-iso"), idempotency_key=uuid.uuid4().hex
    )
    assert mine.status == 201
    seen = other.get(f"/policies/{mine.json['number']}")
    assert seen.status == 404 and seen.json["error"]["code"] == "POLICY_NOT_FOUND"


def test_ops_roles_are_enforced_over_http(stack):
    r = stack.ops_client("finance").post("/ops/products/pet-health/delist")
    assert r.status == 403 and r.json["error"]["code"] == "ROLE_REQUIRED"


def test_bulk_issue_runs_through_sqs(stack):
    ops = stack.ops_client("service")
    rows = "account_id,holder_name\n" + "\n".join(f"e2e-acc-{i},Holder {i}" for i in range(50)) + "\n,missing\n"
    started = ops.post(
        "/ops/bulk-issues",
        idempotency_key=uuid.uuid4().hex,
        json={"channel_id": "demo-shop", "product_code": "account-security", "plan_code": "basic", "content": rows},
    )
    assert started.status == 202, started.body
    job = started.json["job_id"]
    deadline = time.time() + 120
    status = {}
    while time.time() < deadline:
        status = ops.get(f"/ops/bulk-issues/{job}").json
        if status["status"] == "done":
            break
        time.sleep(1)
    assert (status["accepted"], status["issued"], status["rejected"]) == (51, 50, 1)
    assert status["rejected_rows"][0]["index"] == 50
