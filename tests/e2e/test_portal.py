"""e2e: the portal over HTTP on the local cloud, with portal sign-ins minted locally.

A provider's staff works a dispatched order through the portal API (accept, confirm the time,
check the owner in with their code, deliver) and another provider's staff cannot read or act on it;
an insurer's staff reads the claims on the policies it underwrote, and another insurer's does not.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from petcover.domain import calendar
from tests.support.demo_booking import book_checkup
from tests.support.waiting import wait_for

COLD = 90  # a cold function on a busy machine


def _portal(stack: Any, partner_id: str, kind: str) -> Any:
    """A client signed in as the staff of one partner (a local portal token, the Cognito stand-in)."""
    from infra.credentials import portal_token
    from petcover.client import OpsClient

    return OpsClient(stack.base, portal_token(partner_id, kind), timeout=COLD)


def _partner(ops: Any, kind: str, name: str) -> str:
    made = ops.post(
        "/ops/partners",
        idempotency_key=uuid.uuid4().hex,
        json={"kind": kind, "name": f"{name} {uuid.uuid4().hex[:6]}", "agreement_ref": f"AGR-{kind}"},
    )
    assert made.status == 201, made.body
    return str(made.json["id"])


def test_a_provider_works_an_order_through_the_portal_and_another_provider_cannot_read_it(stack):
    channel, ops = stack.channel_client(), stack.ops_client("admin")
    appt = book_checkup(stack, channel)
    record = wait_for(
        lambda: (
            (r := ops.get(f"/ops/appointments/{appt}/dispatch")).status == 200
            and r.json.get("state") == "assigned"
            and r.json
        ),
        "the order to be dispatched",
        180,
        every=2,
    )
    provider = _portal(stack, record["decision"]["provider_id"], "provider")
    other = _portal(stack, _partner(ops, "provider", "Other Clinic"), "provider")

    order = wait_for(lambda: (r := provider.get(f"/portal/work-orders/{appt}")).status == 200 and r.json, "the order")
    assert order["actions"][0] == "accept", order
    for method, path, body in [
        ("get", f"/portal/work-orders/{appt}", None),
        ("post", f"/portal/work-orders/{appt}/accept", {}),
    ]:
        got = getattr(other, method)(path, **({"json": body} if body is not None else {}))
        assert got.status == 404 and got.json["error"]["code"] == "WORK_ORDER_NOT_FOUND", (path, got.body)
    assert all(o["appointment_id"] != appt for o in other.get("/portal/work-orders").json["items"])

    got = provider.post(f"/portal/work-orders/{appt}/accept", json={})
    assert got.status == 200 and got.json["status"] == "booked", got.body
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()
    got = provider.post(f"/portal/work-orders/{appt}/confirm-time", json={"appointment_time": when})
    assert got.status == 200 and "check_in" in got.json["actions"], got.body
    code = channel.get(f"/appointments/{appt}").json["checkin"]["code"]
    got = provider.post(f"/portal/work-orders/{appt}/check-in", json={"code": code})
    assert got.status == 200 and got.json["status"] == "fulfilling", got.body
    got = provider.post(f"/portal/work-orders/{appt}/deliver", json={"note": "all well"})
    assert got.status == 200 and got.json["status"] == "fulfilled" and got.json["actions"] == [], got.body
    assert channel.get(f"/appointments/{appt}").json["status"] == "fulfilled"
    # The other provider still cannot see it, finished or not.
    assert other.get(f"/portal/work-orders/{appt}").status == 404


def _mock(stack: Any, path: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        f"{stack.cloud.insurer_url}/_mock/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _routed_product(stack: Any, ops: Any, insurer_id: str) -> str:
    """A product of this module's own that routes every order to ``insurer_id`` (the mock answers)."""
    from petcover.seed.products import PET_HEALTH

    code = f"e2e-por-{uuid.uuid4().hex[:6]}"
    spec = PET_HEALTH.model_dump(mode="json") | {"code": code}
    assert ops.post("/ops/products", json=spec, idempotency_key=uuid.uuid4().hex).status == 201
    assert ops.post(f"/ops/products/{code}/publish", json={}).status == 200
    contract = {
        "product_code": code,
        "permissions": ["quote", "underwrite", "query", "claim"],
        "effective_from": "2026-01-01",
    }
    made = ops.post("/ops/channels/demo-shop/contracts", idempotency_key=uuid.uuid4().hex, json=contract)
    assert made.status == 201, made.body
    saved = ops.put(
        f"/ops/insurers/{insurer_id}/endpoint",
        json={"url": f"{stack.cloud.insurer_url}/e2e", "timeout_ms": 1500, "retries": 0},
    )
    assert saved.status == 200, saved.body
    _mock(stack, "keys", {"key_id": saved.json["key_id"], "secret": saved.json["secret"]})
    put = ops.put(f"/ops/products/{code}/insurers", json={"routes": [{"insurer_id": insurer_id, "weight": 1}]})
    assert put.status == 200, put.body
    return code


def test_an_insurer_reads_the_claims_on_its_policies_and_another_insurer_does_not(stack):
    ops = stack.ops_client("ops", "underwriter", "sales")
    mine, theirs = _partner(ops, "insurer", "E2E Insurer"), _partner(ops, "insurer", "E2E Other Insurer")
    product = _routed_product(stack, ops, mine)
    _mock(stack, "mode", {"mode": "answer", "delay_ms": 0})
    channel = stack.channel_client()
    order = f"por-{uuid.uuid4().hex[:8]}"
    insured = {"insured_id": f"e2e-{order}", "species": "dog", "breed_size": "small", "age_months": 30}
    pol = channel.post(
        "/policies",
        idempotency_key=uuid.uuid4().hex,
        json={
            "product_code": product,
            "plan_code": "basic",
            "insured": {**insured, "region": "310115"},
            "channel_order_id": order,
            "holder": {"name": "Li Lei"},
        },
    )
    assert pol.status == 201 and pol.json["insurer"]["insurer_id"] == mine, pol.body
    today = calendar.today(datetime.now(UTC)).isoformat()
    claim = channel.post(
        f"/policies/{pol.json['number']}/claims",
        idempotency_key=uuid.uuid4().hex,
        json={
            "incident_date": today,
            "incident_type": "illness",
            "amount": "300.00",
            "evidence": {"documents": ["docs/invoice.pdf"]},
        },
    )
    assert claim.status == 201, claim.body
    number = claim.json["claim_number"]

    insurer = _portal(stack, mine, "insurer")
    got = insurer.get("/portal/insurer/claims")
    assert got.status == 200, got.body
    assert [c["claim_number"] for c in got.json["items"]] == [number]
    assert got.json["items"][0]["product_code"] == product and got.json["items"][0]["status"] == "submitted"
    assert insurer.get("/portal/insurer/claims", query={"status": "paid"}).json["items"] == []
    filtered = insurer.get("/portal/insurer/claims", query={"product_code": product, "status": "submitted"})
    assert [c["claim_number"] for c in filtered.json["items"]] == [number]
    products = insurer.get("/portal/insurer/products")
    assert products.status == 200 and [p["product_code"] for p in products.json["items"]] == [product], products.body

    other = _portal(stack, theirs, "insurer").get("/portal/insurer/claims")
    assert other.status == 200 and other.json["items"] == [], other.body
    assert _portal(stack, mine, "provider").get("/portal/insurer/claims").status == 403
