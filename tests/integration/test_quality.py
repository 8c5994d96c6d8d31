"""Provider quality through the handlers, in-process against moto, with events from events/."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from petcover import runtime, tokens
from petcover.domain import calendar
from petcover.domain.catalog import InsuredFacts
from petcover.identity import Principal
from petcover.models.policies import Holder, UnderwriteRequest
from petcover.ports import Ports
from petcover.repositories import partners as partner_keys
from petcover.services import credentials, policies
from petcover.services.fulfilment import assignment, closing
from tests.support import events
from tests.support.calls import OPS_SECRET, call, handler_of, ops_headers, sign
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
    p: Ports
    clock: Clock
    shop_a: tuple[str, str]
    shop_b: tuple[str, str]
    clinic_a: tuple[str, str]
    number: str

    def call(
        self,
        function: str,
        *,
        path: dict[str, str] | None = None,
        body: Any = None,
        key: tuple[str, str] | None = None,
        ops: tuple[str, ...] | None = None,
        idem: str | None = None,
    ) -> tuple[int, Any]:
        headers: dict[str, str] = {"Idempotency-Key": idem} if idem else {}
        if ops is not None:
            token = tokens.mint(OPS_SECRET, "alice", list(ops), now=int(self.clock().timestamp()))
            headers["Authorization"] = f"Bearer {token}"
        ev = events.api(function, path_params=path, body=body, headers=headers)
        if key is not None:
            sign(ev, *key, now=int(self.clock().timestamp()))
        resp = handler_of(function)(ev, None)
        return resp["statusCode"], json.loads(resp["body"] or "null")


def _provider(p: Ports, provider_id: str) -> tuple[str, str]:
    pk, sk = partner_keys.partner(provider_id)
    data = {"id": provider_id, "kind": "provider", "name": provider_id.title()}
    p.store.put({"pk": pk, "sk": sk, "kind": "partner", "state": "active", "data": json.dumps(data)})
    k = credentials.issue(p, "provider", provider_id)
    return k.key_id, k.secret


@pytest.fixture
def world(aws) -> World:
    p = runtime.ports()
    clock = Clock()
    p.clock = clock
    now = clock.now
    clock.now = now - timedelta(days=60)
    keys_by_channel = catalogue(p, ("shop-a", "shop-b"))
    clock.now = now - timedelta(days=30)  # past the 15-day waiting period
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
    clock.now = now
    return World(p, clock, keys_by_channel["shop-a"], keys_by_channel["shop-b"], _provider(p, "clinic-a"), number)


def _book(w: World) -> str:
    body = {"benefit_code": "medicine-delivery", "pet": {"pet_id": "pet-1", "name": "Bobo"}, "address": ADDRESS}
    status, out = w.call("BookAppointmentFunction", path={"number": w.number}, body=body, key=w.shop_a, idem="q-1")
    assert status == 201, out
    aid = str(out["appointment_id"])
    assignment.assign(w.p, aid, "clinic-a", {"step": "share", "reason": "integration test"})
    return aid


def _fulfilled(w: World) -> str:
    aid = _book(w)
    assert w.call("AcceptWorkOrderFunction", path={"appointmentId": aid}, key=w.clinic_a)[0] == 200
    ship = {"carrier": "SF", "tracking_number": "SF1234567890"}
    assert w.call("ShipWorkOrderFunction", path={"appointmentId": aid}, body=ship, key=w.clinic_a)[0] == 200
    return aid


def _rate(w: World, aid: str, body: dict[str, Any], idem: str | None, key: tuple[str, str] | None = None):
    return w.call("RateAppointmentFunction", path={"appointmentId": aid}, body=body, key=key or w.shop_a, idem=idem)


def test_a_channel_rates_a_fulfilled_appointment_once_signed_and_idempotent(world: World):
    w = world
    aid = _fulfilled(w)
    status, early = _rate(w, aid, {"score": 5}, "r-early")
    assert (status, early["error"]["code"]) == (422, "NOT_YET_FULFILLED")
    closing.confirm_receipt(w.p, "auto-receipt", aid)
    assert _rate(w, aid, {"score": 5}, None)[0] == 400  # an idempotency key is required
    assert _rate(w, aid, {"score": 9}, "r-bad")[0] == 400
    assert _rate(w, aid, {"score": 4}, "r-other", key=w.shop_b)[0] in (403, 404)
    status, first = _rate(w, aid, {"score": 4, "tags": ["fast"], "comment": "ok"}, "r-1")
    assert status == 201 and first["provider_id"] == "clinic-a" and first["score"] == 4
    assert _rate(w, aid, {"score": 4, "tags": ["fast"], "comment": "ok"}, "r-1") == (201, first)  # replayed
    status, again = _rate(w, aid, {"score": 1}, "r-2")
    assert (status, again["error"]["code"]) == (409, "ALREADY_RATED")


def test_complaint_assessment_proposal_and_a_second_staff_members_approval(world: World):
    w = world
    aid = _fulfilled(w)
    body = {"category": "timeliness", "description": "late parcel", "reason": "owner phoned"}
    status, complaint = w.call(
        "RecordComplaintFunction", path={"orderId": aid}, body=body, ops=("service",), idem="c-1"
    )
    assert status == 201 and complaint["provider_id"] == "clinic-a", complaint
    month = calendar.month_of(w.clock())
    result = handler_of("QualityAssessFunction")(
        {**events.schedule("QualityAssessFunction"), "detail": {"month": month}}, None
    )
    assert result["month"] == month and result["providers"] == 1
    status, got = w.call("GetQualityAssessmentFunction", path={"month": month}, ops=("ops",))
    assert status == 200, got
    [a] = got["providers"]
    assert a["provider_id"] == "clinic-a" and a["inputs"]["complaints"] == 1 and a["inputs"]["orders"] == 1
    assert a["grade"] is None and any("not graded" in n for n in a["notes"])  # one order: below the sample
    rules = {
        "rules": [
            {
                "region_code": "310115",
                "service_type": "medicine_delivery",
                "providers": [
                    {
                        "provider_id": "clinic-a",
                        "share_pct": 60,
                        "weight": 0,
                        "daily_capacity": 100,
                        "scope": "regional",
                    },
                    {
                        "provider_id": "clinic-b",
                        "share_pct": 40,
                        "weight": 0,
                        "daily_capacity": 100,
                        "scope": "regional",
                    },
                ],
            }
        ]
    }
    assert w.call("PublishDispatchRulesFunction", body=rules, ops=("ops",))[0] == 201
    status, prop = w.call("ApplyQualityAssessmentFunction", path={"month": month}, body={}, ops=("ops",), idem="a-1")
    assert status == 201 and prop["state"] == "pending", prop
    pid = prop["proposal_id"]
    status, same = w.call(
        "DecideQualityProposalFunction", path={"proposalId": pid}, body={"decision": "approve"}, ops=("ops",)
    )
    assert (status, same["error"]["code"]) == (403, "SAME_STAFF_MEMBER")
    status, done, _ = call(
        "DecideQualityProposalFunction",
        path={"proposalId": pid},
        body={"decision": "approve", "reason": "checked"},
        headers=ops_headers("ops", sub="bob"),
    )
    assert status == 200 and done["state"] == "approved" and done["published_version"] == 2, done
    status, read = w.call("GetQualityProposalFunction", path={"proposalId": pid}, ops=("ops",))
    assert status == 200 and read["decided_by"] == "ops:bob"
