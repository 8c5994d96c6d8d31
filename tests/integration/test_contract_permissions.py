"""Contract permissions over every channel route, in-process against moto.

Each route's declared permission is enforced by the adapter, reads included; reads stay open after a
contract is terminated or has ended (while the contract still grants ``query``), changes do not.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from infra import openapi
from petcover import runtime
from petcover.domain import calendar
from petcover.identity import PERMISSIONS, Principal
from petcover.models.catalog import ContractTerms
from petcover.models.claims import ClaimCreate
from petcover.models.fulfilment import BatchRequest
from petcover.models.policies import UnderwriteRequest
from petcover.ports import Ports
from petcover.services import catalog, policies
from petcover.services.claims import submission
from petcover.services.fulfilment import batches, booking
from tests.support import events
from tests.support.bookings import online
from tests.support.calls import handler_of, sign
from tests.support.clock import Clock
from tests.support.fixtures import STAFF, catalogue
from tests.support.policies import issue_policy

SHOP = Principal("channel", "shop-a")
PRODUCTS = ("pet-health", "return-shipping", "account-security")
PET = {"insured_id": "pet-9", "species": "dog", "breed_size": "small", "age_months": 30, "region": "310115"}
ADDRESS = {
    "contact_name": "Li Lei",
    "phone": "+86 138 0000 0000",
    "line": "Room 1, 100 Century Avenue",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}
ONLINE = {"benefit_code": "medicine-delivery", "pet": {"pet_id": "pet-1", "name": "Bobo"}, "address": ADDRESS}


@dataclass
class World:
    p: Ports
    clock: Clock
    keys: dict[str, tuple[str, str]]
    policy: str  # pet-health, past its waiting period
    rs_policy: str  # return-shipping, with one claim
    claim: str
    appointment: str
    batch: str

    def call(self, function: str, path: dict[str, str], body: Any, who: str = "shop-a") -> tuple[int, Any]:
        headers = {"Idempotency-Key": uuid.uuid4().hex} if handler_of(function).spec.idempotent else {}
        ev = events.api(function, path_params=path or None, body=body, headers=headers)
        sign(ev, *self.keys[who], now=int(self.clock().timestamp()))
        resp = handler_of(function)(ev, None)
        return resp["statusCode"], json.loads(resp["body"] or "null")

    def requests(self) -> dict[str, tuple[dict[str, str], Any]]:
        """A well-formed request for every channel route, on objects of shop-a."""
        quote = {"product_code": "pet-health", "plan_code": "basic", "insured": PET}
        return {
            "QuoteFunction": ({}, quote),
            "UnderwriteFunction": ({}, {**quote, "channel_order_id": "o-new", "holder": {"name": "Li Lei"}}),
            "GetPolicyFunction": ({"number": self.policy}, None),
            "GetPolicyByOrderFunction": ({"orderId": "o-1"}, None),
            "PolicyHistoryFunction": ({"number": self.policy}, None),
            "EndorseFunction": ({"number": self.policy}, {"plan_code": "plus", "reason": "upgrade"}),
            "RenewFunction": ({"number": self.policy}, {"channel_order_id": "o-1-r"}),
            "CancelFunction": ({"number": self.policy}, {"reason": "no longer needed"}),
            "SubmitClaimFunction": ({"number": self.rs_policy}, _claim_body("ret-2")),
            "UpdateClaimFunction": ({"claimNumber": self.claim}, {"reason": "typo", "tracking_number": "SF0002"}),
            "GetClaimFunction": ({"claimNumber": self.claim}, None),
            "ListPolicyClaimsFunction": ({"number": self.rs_policy}, None),
            "BookAppointmentFunction": ({"number": self.policy}, ONLINE),
            "CreateBookingBatchFunction": ({}, {"items": [{**ONLINE, "policy_number": self.policy}]}),
            "GetBookingBatchFunction": ({"batchId": self.batch}, None),
            "ListPolicyAppointmentsFunction": ({"number": self.policy}, None),
            "GetAppointmentFunction": ({"appointmentId": self.appointment}, None),
            "CancelAppointmentFunction": ({"appointmentId": self.appointment}, {"reason": "changed my mind"}),
            "ConfirmReceiptFunction": ({"appointmentId": self.appointment}, None),
            "RateAppointmentFunction": ({"appointmentId": self.appointment}, {"score": 5}),
        }


def _claim_body(ref: str) -> dict[str, Any]:
    return {
        "channel_claim_id": ref,
        "incident_date": calendar.today(runtime.ports().now()).isoformat(),
        "incident_type": "return_shipment",
        "amount": "12.00",
        "evidence": {"tracking_number": "SF0001"},
    }


def channel_routes() -> dict[str, Any]:
    """Function name -> spec of every route a channel calls, from template.yaml."""
    specs = {r.function: (r, h.spec) for r, h in openapi.operations().items()}
    return {f: (r, s) for f, (r, s) in specs.items() if s.auth.kind == "channel"}


def _set_terms(p: Ports, *, permissions: list[str], **dates: Any) -> None:
    for code in PRODUCTS:
        current = catalog.get_contract(p, "shop-a", code)
        terms = {"effective_from": current.effective_from, "effective_to": None, **dates}
        catalog.modify_contract(p, STAFF, "shop-a", code, ContractTerms(permissions=permissions, **terms))  # type: ignore[arg-type]


@pytest.fixture
def world(aws) -> World:
    p = runtime.ports()
    clock = Clock()
    p.clock = clock
    real_now = clock.now
    clock.now = real_now - timedelta(days=60)
    keys = catalogue(p, ("shop-a", "shop-b"))
    clock.now = real_now
    number = issue_policy(p, clock, order="o-1")
    rs = policies.underwrite(
        p,
        SHOP,
        UnderwriteRequest.model_validate(
            {
                "product_code": "return-shipping",
                "plan_code": "standard",
                "insured": {"insured_id": "order-1"},
                "channel_order_id": "rs-1",
                "holder": {"name": "Li Lei"},
            }
        ),
    ).number
    claim = submission.submit(p, SHOP, rs, ClaimCreate.model_validate(_claim_body("ret-1"))).claim_number
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    batch = batches.create_batch(p, SHOP, BatchRequest(items=[{**ONLINE, "policy_number": number}]), "b-1").batch_id
    return World(p, clock, keys, number, rs, claim, aid, batch)


def test_every_channel_route_declares_a_contract_permission():
    routes = channel_routes()
    assert routes, "no channel routes found"
    undeclared = {f: s.auth.permission for f, (_, s) in routes.items() if s.auth.permission not in PERMISSIONS}
    assert not undeclared, f"channel routes without a contract permission: {undeclared}"
    # A read needs `query`; a change needs the permission named for it.
    wrong = [f for f, (r, s) in routes.items() if (r.method == "GET") != (s.auth.permission == "query")]
    assert not wrong, wrong


def test_the_adapter_refuses_every_channel_route_whose_permission_the_contract_lacks(world: World):
    routes = channel_routes()
    requests = world.requests()
    assert set(routes) == set(requests), "a channel route without a request here is not checked"
    failures = []
    for permission in PERMISSIONS:
        declared = sorted(f for f, (_, s) in routes.items() if s.auth.permission == permission)
        if not declared:
            continue
        _set_terms(world.p, permissions=[x for x in PERMISSIONS if x != permission])
        for function in declared:
            status, body = world.call(function, *requests[function])
            error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
            got = (status, error.get("code"), (error.get("details") or {}).get("permission"))
            if got != (403, "OPERATION_NOT_IN_CONTRACT", permission):
                failures.append(f"{function} without `{permission}`: {status} {body}")
    assert not failures, "\n".join(failures)


def test_with_the_permission_every_channel_route_reaches_its_operation(world: World):
    requests = world.requests()
    reads = [f for f, (r, _) in channel_routes().items() if r.method == "GET"]
    for function in reads:
        status, body = world.call(function, *requests[function])
        assert status == 200, (function, body)
    # Changes last, the policy's cancellation at the very end: each may refuse on the object's state,
    # never on the contract.
    changes = sorted((f for f in requests if f not in reads), key=lambda f: f == "CancelFunction")
    for function in changes:
        status, body = world.call(function, *requests[function])
        assert status not in (401, 403), (function, body)


def _expect_reads_open_and_changes_refused(world: World, refusal: str) -> None:
    requests = world.requests()
    failures = []
    for function, (route, _) in sorted(channel_routes().items()):
        status, body = world.call(function, *requests[function])
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code = error.get("code")
        if route.method == "GET":
            ok = status == 200
        elif function == "RenewFunction":  # the customer is offered a new product instead
            reason = (error.get("details") or {}).get("reason")
            ok = (status, code, reason) == (422, "RENEWAL_NOT_AVAILABLE_OFFER_NEW_PRODUCT", refusal)
        else:
            ok = (status, code) == (403, refusal)
        if not ok:
            failures.append(f"{route.method} {route.path}: {status} {body}")
    assert not failures, "\n".join(failures)


def test_after_termination_a_channel_reads_its_own_records_and_changes_nothing(world: World):
    for code in PRODUCTS:
        catalog.terminate_contract(world.p, STAFF, "shop-a", code, reason="contract ended")
    _expect_reads_open_and_changes_refused(world, "CONTRACT_TERMINATED")


def test_after_the_contract_ended_a_channel_reads_its_own_records_and_changes_nothing(world: World):
    yesterday = world.clock.now.date() - timedelta(days=1)
    _set_terms(world.p, permissions=list(PERMISSIONS), effective_to=yesterday)
    _expect_reads_open_and_changes_refused(world, "CONTRACT_NOT_IN_EFFECT")


def test_reads_after_the_end_still_need_query_in_the_contract(world: World):
    _set_terms(world.p, permissions=[x for x in PERMISSIONS if x != "query"])
    for code in PRODUCTS:
        catalog.terminate_contract(world.p, STAFF, "shop-a", code, reason="contract ended")
    status, body = world.call("GetPolicyFunction", {"number": world.policy}, None)
    assert (status, body["error"]["code"]) == (403, "OPERATION_NOT_IN_CONTRACT")


def test_another_channels_objects_are_not_found_whatever_its_own_contract_allows(world: World):
    """Ownership is checked before the contract: a refusal would say the object exists."""
    requests = world.requests()
    for who_has in (list(PERMISSIONS), ["quote"]):
        for code in PRODUCTS:
            current = catalog.get_contract(world.p, "shop-b", code)
            catalog.modify_contract(
                world.p,
                STAFF,
                "shop-b",
                code,
                ContractTerms(permissions=who_has, effective_from=current.effective_from),  # type: ignore[arg-type]
            )
        for function, expected in (
            ("GetPolicyFunction", "POLICY_NOT_FOUND"),
            ("GetPolicyByOrderFunction", "POLICY_NOT_FOUND"),
            ("CancelFunction", "POLICY_NOT_FOUND"),
            ("GetClaimFunction", "CLAIM_NOT_FOUND"),
            ("UpdateClaimFunction", "CLAIM_NOT_FOUND"),
            ("GetAppointmentFunction", "APPOINTMENT_NOT_FOUND"),
            ("ConfirmReceiptFunction", "APPOINTMENT_NOT_FOUND"),
        ):
            status, body = world.call(function, *requests[function], who="shop-b")
            assert (status, body["error"]["code"]) == (404, expected), (function, who_has, body)
