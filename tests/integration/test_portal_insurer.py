"""An insurer's staff in the portal, in-process against moto: the claims on the policies it
underwrote (never another insurer's), filtered and paged, and its products' appointments booked
and fulfilled this month.

Two insurers underwrite through routing (an in-process fake insurer answers the signed call):
pet-health routes to insurer A, return-shipping to insurer B.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from petcover import cognito, runtime
from petcover.domain import calendar
from petcover.domain.insurer_routing import RoutingRules
from petcover.identity import Principal
from petcover.models.insurers import EndpointInput
from petcover.models.partners import PartnerCreate
from petcover.models.policies import UnderwriteRequest
from petcover.ports import Ports
from petcover.services import policies
from petcover.services.fulfilment import assignment
from petcover.services.insurers import adapter, endpoints, routing
from petcover.services.partners import accounts
from petcover.services.portal import insurer as insurer_portal
from tests.support import events
from tests.support.calls import OPS_SECRET, handler_of, sign
from tests.support.clock import Clock
from tests.support.fixtures import STAFF, catalogue
from tests.support.insurers import FakeInsurer, fake_sender

SHOP = Principal("channel", "shop-a")
ADDRESS = {
    "contact_name": "Li Lei",
    "phone": "+86 138 0000 0000",
    "line": "Room 1, 100 Century Avenue",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}
ILLNESS = {"incident_type": "illness", "amount": "300.00", "evidence": {"documents": ["docs/invoice.pdf"]}}
RETURN = {"incident_type": "return_shipment", "amount": "12.00", "evidence": {"tracking_number": "SF123456789"}}


@dataclass
class World:
    p: Ports
    clock: Clock
    shop: tuple[str, str]
    insurer_a: str
    insurer_b: str
    health: str  # a pet-health policy insurer A underwrote
    returns: str  # a return-shipping policy insurer B underwrote

    def token(self, partner: str, kind: cognito.PortalKind = "insurer") -> str:
        now = int(self.clock().timestamp())
        return cognito.mint_demo(OPS_SECRET, f"{partner}-staff", kind, partner, now=now, ttl_seconds=3600)

    def portal(self, method: str, path: str, token: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        ev = events.api("ProviderPortalFunction", body=body, headers={"Authorization": f"Bearer {token}"}, query=query)
        ev.update(httpMethod=method, path=f"/portal/{path}", pathParameters={"proxy": path})
        resp = handler_of("ProviderPortalFunction")(ev, None)
        return resp["statusCode"], json.loads(resp["body"] or "null")

    def signed(self, function: str, path: dict[str, str], body: Any, idem: str | None = None) -> Any:
        ev = events.api(function, path_params=path, body=body, headers={"Idempotency-Key": idem} if idem else {})
        sign(ev, *self.shop, now=int(self.clock().timestamp()))
        resp = handler_of(function)(ev, None)
        return resp["statusCode"], json.loads(resp["body"] or "null")

    def claim(self, policy: str, body: dict[str, Any], idem: str) -> str:
        self.clock.now += timedelta(minutes=1)  # claims sort by submission time
        today = calendar.today(self.clock.now).isoformat()
        status, out = self.signed("SubmitClaimFunction", {"number": policy}, {**body, "incident_date": today}, idem)
        assert status == 201, out
        return str(out["claim_number"])

    def claims(self, token: str, **query: str) -> list[str]:
        status, out = self.portal("GET", "insurer/claims", token, query=query or None)
        assert status == 200, out
        return [c["claim_number"] for c in out["items"]]


def _insurer(p: Ports, name: str) -> str:
    acc = accounts.create_partner(p, STAFF, PartnerCreate(kind="insurer", name=name, agreement_ref="AG-I"))
    endpoints.save(p, STAFF, acc.id, EndpointInput(url=f"https://{acc.id}.insurer.test", timeout_ms=3000, retries=0))
    return acc.id


def _underwrite(p: Ports, product: str, plan: str, order: str, insured: dict[str, Any]) -> str:
    req = {"product_code": product, "plan_code": plan, "insured": insured, "channel_order_id": order}
    pol = policies.underwrite(p, SHOP, UnderwriteRequest.model_validate({**req, "holder": {"name": "Li Lei"}}))
    assert pol.status == "active" and pol.insurer is not None, pol
    return pol.number


@pytest.fixture
def world(aws: dict[str, str]) -> World:
    p = runtime.ports()
    clock = Clock()
    p.clock = clock
    real_now = clock.now
    if calendar.today(real_now).day > 25:  # the month's counts must not cross into the next month mid-test
        real_now -= timedelta(days=5)
    clock.now = real_now - timedelta(days=60)
    shop = catalogue(p, ("shop-a",))["shop-a"]
    a, b = _insurer(p, "Insurer A"), _insurer(p, "Insurer B")
    p.extra[adapter.SENDER_PORT] = fake_sender({a: FakeInsurer(a), b: FakeInsurer(b)})
    routing.save_rules(
        p, STAFF, "pet-health", RoutingRules.model_validate({"routes": [{"insurer_id": a, "weight": 1}]})
    )
    routing.save_rules(
        p, STAFF, "return-shipping", RoutingRules.model_validate({"routes": [{"insurer_id": b, "weight": 1}]})
    )
    clock.now = real_now - timedelta(days=30)  # past the waiting period
    pet = {"insured_id": "pet-1", "species": "dog", "breed_size": "small", "age_months": 30, "region": "310115"}
    health = _underwrite(p, "pet-health", "basic", "order-h", pet)
    returns = _underwrite(p, "return-shipping", "standard", "order-r", {"insured_id": "order-r"})
    clock.now = real_now
    return World(p, clock, shop, a, b, health, returns)


def test_an_insurer_lists_only_the_claims_on_policies_it_underwrote_newest_first(world: World):
    w = world
    first = w.claim(w.health, ILLNESS, "c-1")
    other = w.claim(w.returns, RETURN, "c-2")
    second = w.claim(w.health, {**ILLNESS, "amount": "80.00"}, "c-3")
    a, b = w.token(w.insurer_a), w.token(w.insurer_b)
    assert w.claims(a) == [second, first]
    assert w.claims(b) == [other]
    status, out = w.portal("GET", "insurer/claims", a)
    row = out["items"][0]
    assert row["policy_number"] == w.health and row["product_code"] == "pet-health" and row["amount"] == "80.00"
    assert row["status"] == "submitted" and "evidence" not in row and "risk" not in row
    # Filters: by product and by status.
    assert w.claims(a, product_code="return-shipping") == []
    assert w.claims(b, product_code="return-shipping") == [other]
    assert w.claims(a, product_code="pet-health", status="submitted") == [second, first]
    assert w.claims(a, status="paid") == []
    status, out = w.portal("GET", "insurer/claims", a, query={"status": "lost"})
    assert status == 400 and out["error"]["code"] == "VALIDATION_FAILED"
    # A provider's staff may not read an insurer's claims.
    clinic = _clinic(w.p, "Clinic A")
    status, out = w.portal("GET", "insurer/claims", w.token(clinic, "provider"))
    assert status == 403 and out["error"]["code"] == "WRONG_PARTNER_KIND"


def test_claims_page_by_page_with_the_cursor(world: World):
    w = world
    made = [w.claim(w.health, {**ILLNESS, "amount": f"{10 + i}.00"}, f"p-{i}") for i in range(3)]
    a = w.token(w.insurer_a)
    seen: list[str] = []
    query = {"limit": "2"}
    for _ in range(4):
        status, out = w.portal("GET", "insurer/claims", a, query=query)
        assert status == 200 and len(out["items"]) <= 2, out
        seen += [c["claim_number"] for c in out["items"]]
        if not out["cursor"]:
            break
        query = {"limit": "2", "cursor": out["cursor"]}
    assert seen == made[::-1]


def test_a_filtered_page_reads_a_bounded_number_of_index_pages(world: World):
    """Five rejected-looking misses in a row: the first page answers with a cursor, not a scan."""
    w = world
    wanted = w.claim(w.health, ILLNESS, "f-0")
    for i in range(1, 7):
        w.claim(w.health, {**ILLNESS, "amount": f"{20 + i}.00"}, f"f-{i}")
    who = Principal("insurer", w.insurer_a)
    got = insurer_portal.claims(w.p, who, status="submitted", product_code="return-shipping", limit=1, cursor=None)
    assert got.items == [] and got.cursor is not None  # five index pages of one claim each, none matching
    page = insurer_portal.claims(w.p, who, status="submitted", product_code="pet-health", limit=7, cursor=None)
    assert [c.claim_number for c in page.items][-1] == wanted


def _clinic(p: Ports, name: str) -> str:
    return accounts.create_partner(p, STAFF, PartnerCreate(kind="provider", name=name, agreement_ref="AG-C")).id


def test_an_insurer_s_products_count_this_month_s_appointments_booked_and_fulfilled(world: World):
    w = world
    clinic = _clinic(w.p, "Clinic A")
    when = (w.clock.now + timedelta(days=2)).isoformat()
    body = {
        "pet": {"pet_id": "pet-1", "name": "Bobo"},
        "address": ADDRESS,
        "benefit_code": "annual-checkup",
        "preferred_time": when,
    }
    status, out = w.signed("BookAppointmentFunction", {"number": w.health}, body, "book-1")
    assert status == 201, out
    aid = out["appointment_id"]
    assignment.assign(w.p, aid, clinic, {"step": "share", "reason": "insurer portal test"})

    assert _products(w, w.token(w.insurer_a))["pet-health"] == {"bookings": 1, "fulfilled": 0}

    c = w.token(clinic, "provider")
    assert w.portal("POST", f"work-orders/{aid}/accept", c)[0] == 200
    at = (w.clock.now + timedelta(hours=2)).isoformat()
    assert w.portal("POST", f"work-orders/{aid}/confirm-time", c, {"appointment_time": at})[0] == 200
    status, appt = w.signed("GetAppointmentFunction", {"appointmentId": aid}, None)
    w.clock.now += timedelta(hours=2)
    c = w.token(clinic, "provider")
    assert w.portal("POST", f"work-orders/{aid}/check-in", c, {"code": appt["checkin"]["code"]})[0] == 200
    status, out = w.portal("POST", f"work-orders/{aid}/deliver", c, {"note": "done"})
    assert status == 200 and out["status"] == "fulfilled", out

    assert _products(w, w.token(w.insurer_a))["pet-health"] == {"bookings": 1, "fulfilled": 1}
    # B's product counts only B's policies: nothing was booked on them.
    assert _products(w, w.token(w.insurer_b)) == {"return-shipping": {"bookings": 0, "fulfilled": 0}}


def _products(w: World, token: str) -> dict[str, dict[str, int]]:
    status, out = w.portal("GET", "insurer/products", token)
    assert status == 200, out
    return {i["product_code"]: {k: i[k] for k in ("bookings", "fulfilled")} for i in out["items"]}
