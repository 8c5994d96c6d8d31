"""The provider portal in-process: one function, /portal/* routes, portal tokens, moto.

A provider's staff works its own orders through the same services as its signed API; provider A's
token can never read or act on provider B's work order, and the insurer's views are its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest

from petcover import cognito, runtime, tokens
from petcover.domain.catalog import InsuredFacts
from petcover.identity import Principal
from petcover.models.partners import PartnerAccount
from petcover.models.policies import Holder, UnderwriteRequest
from petcover.ports import Ports
from petcover.repositories import partners as keys
from petcover.services import policies
from petcover.services.fulfilment import assignment
from tests.support import events
from tests.support.calls import OPS_SECRET, handler_of, sign
from tests.support.clock import Clock
from tests.support.fixtures import catalogue

ADDRESS = {
    "contact_name": "Li Lei",
    "phone": "+86 138 0000 0000",
    "line": "Room 1, 100 Century Avenue",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}


@dataclass
class World:
    names: dict[str, str]
    p: Ports
    clock: Clock
    shop: tuple[str, str]
    number: str
    sqs: Any

    def token(self, partner: str, kind: cognito.PortalKind = "provider", *, ttl: int = 3600, secret: str = "") -> str:
        now = int(self.clock().timestamp())
        return cognito.mint_demo(secret or OPS_SECRET, f"{partner}-staff", kind, partner, now=now, ttl_seconds=ttl)

    def portal(
        self,
        method: str,
        path: str,
        token: str | None,
        body: Any = None,
        query: dict[str, str] | None = None,
        idem: str | None = None,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if idem:
            headers["Idempotency-Key"] = idem
        ev = events.api("ProviderPortalFunction", body=body, headers=headers, query=query)
        ev.update(httpMethod=method, path=f"/portal/{path}", pathParameters={"proxy": path})
        resp = handler_of("ProviderPortalFunction")(ev, None)
        return resp["statusCode"], json.loads(resp["body"] or "null")

    def signed(self, function: str, path: dict[str, str], body: Any = None, idem: str | None = None) -> Any:
        headers = {"Idempotency-Key": idem} if idem else {}
        ev = events.api(function, path_params=path, body=body, headers=headers)
        sign(ev, *self.shop, now=int(self.clock().timestamp()))
        resp = handler_of(function)(ev, None)
        return resp["statusCode"], json.loads(resp["body"] or "null")

    def book(self, idem: str, *, offline: bool = True) -> str:
        body: dict[str, Any] = {"pet": {"pet_id": "pet-1", "name": "Bobo"}, "address": ADDRESS}
        if offline:
            body |= {
                "benefit_code": "annual-checkup",
                "preferred_time": (self.clock.now + timedelta(days=2)).isoformat(),
            }
        else:
            body |= {"benefit_code": "medicine-delivery"}
        status, out = self.signed("BookAppointmentFunction", {"number": self.number}, body, idem)
        assert status == 201, out
        return str(out["appointment_id"])

    def dispatch_to(self, aid: str, provider: str) -> None:
        """The dispatch consumer's decision, made directly (dispatch is another area's)."""
        got = self.sqs.receive_message(QueueUrl=self.names["DispatchQueue"], MaxNumberOfMessages=10)
        for m in got.get("Messages") or []:
            self.sqs.delete_message(QueueUrl=self.names["DispatchQueue"], ReceiptHandle=m["ReceiptHandle"])
        assignment.assign(self.p, aid, provider, {"step": "share", "reason": "portal test"})


def _partner(p: Ports, partner_id: str, kind: str = "provider", state: str = "active") -> None:
    acc = PartnerAccount(
        id=partner_id,
        kind=kind,  # type: ignore[arg-type]
        name=partner_id.title(),
        agreement_ref=f"AG-{partner_id}",
        permissions=[],
        status=state,  # type: ignore[arg-type]
        created_at="2026-01-01T00:00:00+00:00",
        created_by="test",
    )
    account, _ = keys.account_items(acc)
    p.store.put({**account, "state": state})


@pytest.fixture
def world(aws) -> World:
    p = runtime.ports()
    clock = Clock()
    p.clock = clock
    real_now = clock.now
    clock.now = real_now - timedelta(days=60)
    shop = catalogue(p, ("shop-a",))["shop-a"]
    clock.now = real_now - timedelta(days=30)  # past the waiting period
    number = policies.underwrite(
        p,
        Principal("channel", "shop-a"),
        UnderwriteRequest(
            product_code="pet-health",
            plan_code="basic",
            insured=InsuredFacts(insured_id="pet-1", species="dog", breed_size="small", age_months=30, region="310115"),
            channel_order_id="order-1",
            holder=Holder(name="Li Lei"),
        ),
    ).number
    clock.now = real_now
    for pid in ("clinic-a", "clinic-b"):
        _partner(p, pid)
    _partner(p, "insurer-x", "insurer")
    return World(aws, p, clock, shop, number, boto3.client("sqs", region_name="us-east-1"))


def actions(w: World, token: str, aid: str) -> list[str]:
    status, out = w.portal("GET", "work-orders", token)
    assert status == 200, out
    return next(o["actions"] for o in out["items"] if o["appointment_id"] == aid)


def test_a_provider_works_an_offline_order_end_to_end_in_the_portal(world: World):
    w = world
    aid = w.book("book-1")
    w.dispatch_to(aid, "clinic-a")
    a = w.token("clinic-a")
    assert actions(w, a, aid) == ["accept", "decline", "raise_exception"]
    status, out = w.portal("POST", f"work-orders/{aid}/accept", a)
    assert status == 200 and out["status"] == "booked" and out["actions"] == ["confirm_time", "raise_exception"]
    when = (w.clock.now + timedelta(hours=2)).isoformat()
    status, out = w.portal("POST", f"work-orders/{aid}/confirm-time", a, {"appointment_time": when})
    assert status == 200 and out["actions"] == ["confirm_time", "check_in", "raise_exception"], out
    status, appt = w.signed("GetAppointmentFunction", {"appointmentId": aid})
    code = appt["checkin"]["code"]
    w.clock.now += timedelta(hours=2)
    a = w.token("clinic-a")  # the first sign-in has expired by the appointment
    status, out = w.portal("POST", f"work-orders/{aid}/check-in", a, {"code": code})
    assert status == 200 and out["status"] == "fulfilling" and out["actions"] == ["deliver", "raise_exception"], out
    status, out = w.portal("POST", f"work-orders/{aid}/deliver", a, {"note": "all done"})
    assert status == 200 and out["status"] == "fulfilled" and out["actions"] == [], out
    status, out = w.portal("GET", "work-orders", a, query={"status": "fulfilled"})
    assert [o["appointment_id"] for o in out["items"]] == [aid]
    status, out = w.portal("GET", "timeliness", a)
    assert status == 200 and out["sample_orders"] == 1, out
    accepted = next(n for n in out["nodes"] if n["node"] == "accepted")
    assert accepted["sample"] == 1 and accepted["p50_minutes"] is not None


def test_provider_a_can_never_read_or_act_on_provider_b_s_work_order(world: World):
    w = world
    aid = w.book("book-b")
    w.dispatch_to(aid, "clinic-b")
    a, b = w.token("clinic-a"), w.token("clinic-b")
    for method, path, body, idem in [
        ("GET", f"work-orders/{aid}", None, None),
        ("POST", f"work-orders/{aid}/accept", None, None),
        ("POST", f"work-orders/{aid}/decline", {"reason": "too far"}, None),
        ("POST", f"work-orders/{aid}/exception", {"reason": "stuck"}, "exc-1"),
        (
            "POST",
            f"work-orders/{aid}/confirm-time",
            {"appointment_time": (w.clock.now + timedelta(hours=3)).isoformat()},
            None,
        ),
        ("POST", f"work-orders/{aid}/check-in", {"code": "12345678"}, None),
        ("POST", f"work-orders/{aid}/deliver", {}, None),
    ]:
        status, out = w.portal(method, path, a, body, idem=idem)
        assert status == 404 and out["error"]["code"] == "WORK_ORDER_NOT_FOUND", (path, out)
    status, out = w.portal("GET", "work-orders", a)
    assert status == 200 and out["items"] == []
    # B's own order is untouched and still B's to accept.
    status, out = w.portal("GET", f"work-orders/{aid}", b)
    assert status == 200 and out["status"] == "booking" and out["actions"][0] == "accept"


def test_decline_with_a_reason_hands_the_order_back_to_dispatch(world: World):
    w = world
    aid = w.book("book-d")
    w.dispatch_to(aid, "clinic-a")
    status, out = w.portal("POST", f"work-orders/{aid}/decline", w.token("clinic-a"), {"reason": "fully booked"})
    assert status == 200 and out["redispatch"] is True and out["reason"] == "fully booked"
    status, out = w.portal("GET", f"work-orders/{aid}", w.token("clinic-a"))
    assert status == 404


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda w: None, 401, "TOKEN_MISSING"),
        (lambda w: w.token("clinic-a", ttl=-1), 401, "TOKEN_EXPIRED"),
        (lambda w: w.token("clinic-a", secret="someone-else"), 401, "TOKEN_BAD_SIGNATURE"),
        (lambda w: tokens.mint(OPS_SECRET, "alice", ["admin"], now=int(w.clock().timestamp())), 401, "TOKEN_MALFORMED"),
        (lambda w: w.token("clinic-gone"), 403, "PORTAL_SCOPE_MISSING"),
        (lambda w: w.token("insurer-x", "insurer"), 403, "WRONG_PARTNER_KIND"),
        (lambda w: w.token("insurer-x"), 403, "PORTAL_SCOPE_MISSING"),  # a provider group naming an insurer
    ],
    ids=["missing", "expired", "forged", "ops-token", "unknown-partner", "insurer-on-provider-route", "wrong-kind"],
)
def test_the_portal_refuses_tokens_that_do_not_name_a_signed_in_provider(world: World, make, status, code):
    got, out = world.portal("GET", "work-orders", make(world))
    assert (got, out["error"]["code"]) == (status, code)


def test_a_suspended_provider_s_staff_are_refused(world: World):
    _partner(world.p, "clinic-s", state="suspended")
    status, out = world.portal("GET", "me", world.token("clinic-s"))
    assert status == 403 and out["error"]["code"] == "PARTNER_INACTIVE"


def test_unknown_portal_paths_are_404_and_each_view_answers(world: World):
    w = world
    a = w.token("clinic-a")
    status, out = w.portal("GET", "nothing-here", a)
    assert status == 404 and out["error"]["code"] == "ROUTE_NOT_FOUND"
    status, out = w.portal("DELETE", "work-orders", a)
    assert status == 404
    status, me = w.portal("GET", "me", a)
    assert status == 200 and me == {
        "kind": "provider",
        "partner_id": "clinic-a",
        "partner_name": "Clinic-A",
        "user": "clinic-a-staff",
    }
    for view in ("share", "feedback", "assessment", "timeliness"):
        status, out = w.portal("GET", view, a)
        assert status == 200, (view, out)
    status, out = w.portal("GET", "assessment", a, query={"month": "2026-13"})
    assert status == 400
    status, out = w.portal("GET", "insurer/providers", a)
    assert status == 403 and out["error"]["code"] == "WRONG_PARTNER_KIND"


def test_an_insurer_sees_its_bound_providers_and_products_read_only(world: World):
    w = world
    x = w.token("insurer-x", "insurer")
    status, out = w.portal("GET", "insurer/providers", x)
    assert status == 200 and out["items"] == []  # no active configuration binds any provider yet
    status, out = w.portal("GET", "insurer/products", x)
    assert status == 200 and out["items"] == []  # no product routes to it
    status, out = w.portal("GET", "work-orders", x)
    assert status == 403


def test_a_change_request_goes_through_the_partner_change_service(world: World):
    a = world.token("clinic-a")
    body = {"config": {"daily_capacity": 40}, "reason": "more staff"}
    status, out = world.portal("POST", "changes", a, body)
    assert status == 400 and out["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    status, out = world.portal("POST", "changes", a, body, idem="chg-1")
    assert status == 404 and out["error"]["code"] == "CONFIG_NOT_FOUND"  # the service's own rule: no active config
    status, out = world.portal("GET", "account", a)
    assert status == 200 and out["detail"]["account"]["id"] == "clinic-a" and out["changes"] == []
