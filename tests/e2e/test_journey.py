"""The whole path over HTTP, async steps included: a new provider is onboarded, a pet owner books a
covered benefit, dispatch (SQS) assigns it, the provider ships, the owner confirms receipt, the
quota is deducted (SQS), the channel hears every step by signed webhook, a claim is paid, and the
SLA check runs on demand. Writes the onboarding figures to bench/results/onboarding.md."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.bench.common import table, write
from tests.support.products import make_product_without_waiting_period
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


class Counted:
    """Counts the HTTP calls a person or a partner system had to make."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0

    def __getattr__(self, name: str) -> Callable[..., Any]:
        fn = getattr(self.client, name)

        def wrapped(*a: Any, **kw: Any) -> Any:
            self.calls += 1
            return fn(*a, **kw)

        return wrapped


def test_new_provider_to_fulfilled_order_with_quota_webhooks_and_claim(stack, restore_dispatch_rules):
    from petcover.client import PetcoverClient

    sink = stack.cloud.sink_url
    t0 = time.perf_counter()
    ops = Counted(stack.ops_client("ops"))
    # 1. ops create the provider account after the offline agreement, and issue its key
    acc = ops.post(
        "/ops/partners",
        idempotency_key=uuid.uuid4().hex,
        json={"kind": "provider", "name": f"E2E Clinic {uuid.uuid4().hex[:6]}", "agreement_ref": "AGR-E2E"},
    )
    assert acc.status == 201, acc.body
    provider_id = acc.json["id"]
    key = ops.post(f"/ops/partners/{provider_id}/keys")
    assert key.status == 201, key.body
    prov = Counted(PetcoverClient(stack.base, key.json["key_id"], key.json["secret"], timeout=30))
    # 2. the provider configures itself: services, regions, capacity, contacts, licence
    doc = prov.post(
        "/partner/documents",
        idempotency_key=uuid.uuid4().hex,
        json={"type": "business_licence", "file_name": "licence.pdf", "content_type": "application/pdf"},
    )
    assert doc.status in (200, 201), doc.body
    config = {
        "services": [
            {"service_type": "medicine_delivery", "mode": "online_shipping"},
            {"service_type": "checkup", "mode": "offline_store"},
        ],
        "regions": [{"province": "310000"}],
        "daily_capacity": 100,
        "contacts": [
            {"name": "Desk", "channel": "slack", "webhook_url": f"{sink}/chat/{provider_id}", "mention": "U123"}
        ],
        "documents": [
            {
                "type": "business_licence",
                "number": "91310115MA1",
                "expires_on": "2030-01-01",
                "file_key": doc.json["file_key"],
            }
        ],
    }
    saved = prov.put("/partner/config", json=config)
    assert saved.status == 200, saved.body
    assert prov.post("/partner/config/submit").status == 200
    # 3. ops review against the agreement and approve; then route Shanghai orders to it
    approved = ops.post(f"/ops/partners/{provider_id}/config/approve", json={"note": "matches AGR-E2E"})
    assert approved.status == 200, approved.body
    rules = ops.get("/ops/dispatch/rules").json
    published = ops.put(
        "/ops/dispatch/rules",
        json={
            "base_version": rules["head_version"],
            "rules": [
                {
                    "region_code": "310000",
                    "service_type": st,
                    "providers": [
                        {
                            "provider_id": provider_id,
                            "share_pct": 100,
                            "weight": 5,
                            "daily_capacity": 100,
                            "scope": "regional",
                        }
                    ],
                }
                for st in ("medicine_delivery", "checkup")
            ],
        },
    )
    assert published.status in (200, 201), published.body
    # 4. a pet owner (through the channel) holds a policy and books a medicine delivery. The seed
    #    product has a 15-day waiting period, so the journey uses a copy without one.
    code = make_product_without_waiting_period(stack)
    pet_id = f"pet-{uuid.uuid4().hex[:6]}"
    channel = stack.channel_client()
    pol = channel.post(
        "/policies",
        idempotency_key=uuid.uuid4().hex,
        json={
            "product_code": code,
            "plan_code": "basic",
            "channel_order_id": f"j-{uuid.uuid4().hex[:8]}",
            "insured": {
                "insured_id": pet_id,
                "species": "cat",
                "breed_size": "small",
                "age_months": 24,
                "region": "310115",
            },
            "holder": {"name": "Han Meimei"},
        },
    )
    assert pol.status == 201, pol.body
    number = pol.json["number"]
    booking = {
        "benefit_code": "medicine-delivery",
        "pet": {"pet_id": pet_id, "name": "Mimi", "species": "cat"},
        "address": {
            "contact_name": "Han Meimei",
            "phone": "13800000000",
            "line": "1 Century Ave",
            "province": "310000",
            "city": "310100",
            "district": "310115",
        },
    }
    booked = channel.post(f"/policies/{number}/appointments", idempotency_key=uuid.uuid4().hex, json=booking)
    assert booked.status in (200, 201, 202), booked.body
    appt = booked.json["appointment_id"]
    dup = channel.post(f"/policies/{number}/appointments", idempotency_key=uuid.uuid4().hex, json=booking)
    assert dup.status == 409, dup.body
    # 5. dispatch runs asynchronously (SQS) and the work order reaches the provider
    wo = wait_for(lambda: (r := prov.get(f"/work-orders/{appt}")).status == 200 and r.json, "the work order")
    onboarding_wall = time.perf_counter() - t0
    onboarding_calls = ops.calls + prov.calls
    why = ops.get(f"/ops/appointments/{appt}/dispatch")
    assert why.status == 200 and why.json["decision"]["provider_id"] == provider_id, why.body
    assert wo["appointment_id"] == appt
    # 6. the provider accepts and ships; the owner confirms receipt; fulfilled
    assert prov.post(f"/work-orders/{appt}/accept").status == 200
    shipped = prov.post(f"/work-orders/{appt}/ship", json={"carrier": "SF", "tracking_number": "SF1234567"})
    assert shipped.status == 200, shipped.body
    done = channel.post(f"/appointments/{appt}/receipt")
    assert done.status == 200 and done.json["status"] == "fulfilled", done.body
    cancel = channel.post(f"/appointments/{appt}/cancel", json={"reason": "too late"}, idempotency_key="c-late")
    assert cancel.status == 409 and "fulfilled" in cancel.json["error"]["message"].lower()

    # 7. the quota deduction (SQS) turns the hold into used
    def used() -> bool:
        b = {x["code"]: x for x in channel.get(f"/policies/{number}").json["benefits"]}["medicine-delivery"]
        return b["used"] == 1 and b["held"] == 0 and b["available"] == 5

    wait_for(used, "the quota deduction")

    # 8. the channel heard every step through signed webhooks (delivery through SQS to the sink)
    def hooks() -> list[dict[str, Any]]:
        got = [json.loads(r["body"]) for r in stack.cloud.sink_requests() if r["path"].startswith("/hooks/demo-shop")]
        return [h for h in got if h.get("object_id") == appt]

    events = wait_for(
        lambda: (h := hooks()) and any(e["event_type"].endswith("fulfilled") for e in h) and h, "the fulfilled webhook"
    )
    versions = [e["version"] for e in events]
    assert len(set(versions)) == len(versions), "a version was delivered twice"
    # 9. a claim on the same policy is approved and paid; remaining sum insured goes down
    claim = channel.post(
        f"/policies/{number}/claims",
        idempotency_key=uuid.uuid4().hex,
        json={
            "benefit_code": "treatment",
            "incident_date": time.strftime("%Y-%m-%d"),
            "incident_type": "illness",
            "amount": "300.00",
            "description": "Vet visit",
        },
    )
    assert claim.status == 201, claim.body
    n = claim.json["claim_number"]
    uw = stack.ops_client("underwriter")
    assert uw.post(f"/ops/claims/{n}/assess", json={}).status in (200, 409)
    assert uw.post(f"/ops/claims/{n}/approve", json={"amount": "300.00", "note": "ok"}).status == 200
    paid = stack.ops_client("finance").post(f"/ops/claims/{n}/pay", idempotency_key=uuid.uuid4().hex, json={})
    assert paid.status == 200, paid.body
    after = channel.get(f"/policies/{number}").json
    assert float(after["remaining_sum_insured"]) == float(after["sum_insured"]) - 300
    # 10. the SLA check can be fired on demand
    assert stack.cloud.fire("SlaCheckFunction") is not None

    write(
        "onboarding",
        "From a new provider account to its first dispatched order (e2e, local cloud)",
        table(
            ["HTTP calls (ops + provider)", "wall time s (incl. async dispatch)"], [[onboarding_calls, onboarding_wall]]
        )
        + "\n\nPath: create account, issue key, document upload URL, save configuration, submit, approve, "
        "read rules, publish rules; then the channel's policy and booking, and dispatch through SQS until "
        "the provider sees the work order. Measured by tests/e2e/test_journey.py.",
        "make test (tests/e2e/test_journey.py)",
    )
