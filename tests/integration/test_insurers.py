"""Insurer channels, in-process against moto: routing, the signed call to a real loopback mock
insurer, uncertain outcomes driven to a final state by the settle schedule, and failover."""

from __future__ import annotations

from typing import Any

import pytest

from petcover import runtime
from petcover.models.partners import PartnerCreate
from petcover.services.partners import accounts
from tests.support import insurer_faults
from tests.support.calls import call, handler_of
from tests.support.clock import Clock
from tests.support.events import schedule
from tests.support.fixtures import STAFF, catalogue
from tests.support.insurers import RunningMock, mock_insurer

PET = {"insured_id": "pet-1", "species": "dog", "breed_size": "small", "age_months": 30, "region": "310115"}


@pytest.fixture
def world(aws: dict[str, str]) -> Any:
    p = runtime.ports()
    keys = catalogue(p, ("shop-a", "shop-b"))
    with mock_insurer() as mock:
        yield {"p": p, "keys": keys, "mock": mock}


def new_insurer(mock: RunningMock, name: str, *, timeout_ms: int = 2000, retries: int = 1) -> str:
    p = runtime.ports()
    acc = accounts.create_partner(p, STAFF, PartnerCreate(kind="insurer", name=name, agreement_ref="AG-1"))
    status, saved, _ = call(
        "SetInsurerEndpointFunction",
        path={"partnerId": acc.id},
        body={"url": f"{mock.url}/api", "timeout_ms": timeout_ms, "retries": retries},
        ops=("ops",),
    )
    assert status == 200, saved
    assert saved["secret"] and saved["key_id"].startswith("ink_")
    mock.control("keys", {"key_id": saved["key_id"], "secret": saved["secret"]})
    return acc.id


def set_routes(body: dict[str, Any], product: str = "pet-health") -> dict[str, Any]:
    status, saved, _ = call("PutInsurerRoutingFunction", path={"code": product}, body=body, ops=("ops",))
    assert status == 200, saved
    return saved  # type: ignore[no-any-return]


def underwrite(keys: dict[str, Any], order: str, channel: str = "shop-a") -> tuple[int, Any, dict[str, str]]:
    body = {
        "product_code": "pet-health",
        "plan_code": "basic",
        "insured": {**PET, "insured_id": f"pet-{order}"},
        "channel_order_id": order,
        "holder": {"name": "Li Lei"},
    }
    return call("UnderwriteFunction", body=body, key=keys[channel], idem=f"idem-{order}")


def settle_at(clock: Clock) -> dict[str, int]:
    p = runtime.aws_ports()
    p.clock = clock
    runtime.install(p)
    try:
        return handler_of("InsurerSettleFunction")(schedule("InsurerSettleFunction"), None)  # type: ignore[no-any-return]
    finally:
        runtime.install(None)


def test_without_insurer_channels_the_platform_underwrites_in_house(world):
    status, pol, _ = underwrite(world["keys"], "o-inhouse")
    assert status == 201 and pol["status"] == "active"
    assert pol["insurer"]["insurer_id"] == "petcover" and pol["insurer"]["reason"] == "inhouse_default"


def test_the_routed_insurer_is_called_signed_and_recorded_with_why(world):
    mock = world["mock"]
    ins = new_insurer(mock, "Insurer A")
    set_routes({"routes": [{"insurer_id": ins, "weight": 1}]})
    status, pol, _ = underwrite(world["keys"], "o-a1")
    assert status == 201, pol
    assert pol["status"] == "active"
    assert pol["insurer"]["insurer_id"] == ins and pol["insurer"]["reason"] == "weight"
    assert pol["insurer"]["insurer_policy_number"].startswith("MI")
    assert any("furthest below its share" in line for line in pol["insurer"]["explanation"])
    # The insurer saw our idempotency key (the policy number) once, and verified our signature.
    assert set(mock.mock.book) == {pol["number"]}
    # A retry of the channel's call is the first answer, not a second policy.
    again, replay, headers = underwrite(world["keys"], "o-a1")
    assert again == 201 and replay["number"] == pol["number"] and headers.get("Idempotency-Replayed") == "true"
    status, view, _ = call("GetInsurerRoutingFunction", path={"code": "pet-health"}, ops=("ops",))
    assert status == 200 and view["candidates"][0]["month_count"] == 1 and view["health"][0]["healthy"]


def test_a_bad_signature_key_is_a_definite_no_and_the_order_fails_over(world):
    mock = world["mock"]
    ins = new_insurer(mock, "Insurer Keyless")
    mock.mock.keys.clear()  # the insurer no longer knows our key: 401, nothing issued
    set_routes({"routes": [{"insurer_id": ins, "weight": 1}, {"insurer_id": "petcover", "weight": 0}]})
    status, pol, _ = underwrite(world["keys"], "o-k1")
    assert status == 201 and pol["insurer"]["insurer_id"] == "petcover"
    assert pol["insurer"]["reason"] == "failover"
    assert [a["outcome"] for a in pol["insurer"]["attempts"]] == ["rejected", "issued"]
    assert mock.mock.book == {}


def test_a_rejection_without_fallback_fails_the_order_clearly(world):
    mock = world["mock"]
    ins = new_insurer(mock, "Insurer Strict")
    mock.control("mode", {"mode": "reject", "delay_ms": 0})
    set_routes({"routes": [{"insurer_id": ins, "weight": 1}]})
    status, err, _ = underwrite(world["keys"], "o-r1")
    assert status == 422 and err["error"]["code"] == "INSURER_DECLINED"
    number = err["error"]["details"]["policy_number"]
    status, pol, _ = call("OpsGetPolicyFunction", path={"number": number}, ops=())
    assert status == 200 and pol["status"] == "failed"


def test_a_timeout_answers_202_and_the_schedule_settles_a_late_issue(world):
    mock = world["mock"]
    ins = new_insurer(mock, "Insurer Slow", timeout_ms=200, retries=0)
    mock.control("mode", {"mode": "late", "hang_ms": 600})
    set_routes({"routes": [{"insurer_id": ins, "weight": 1}, {"insurer_id": "petcover", "weight": 0}]})
    status, pol, headers = underwrite(world["keys"], "o-t1")
    assert status == 202 and headers["Retry-After"] == "5"
    assert pol["status"] == "pending_insurer" and pol["insurer"]["attempts"][0]["outcome"] == "unknown"
    clock = Clock()
    assert settle_at(clock)["checked"] == 0  # too early: the schedule leaves a fresh call alone
    clock.advance(minutes=2)
    report = settle_at(clock)
    assert report["issued"] == 1 and report["still_pending"] == 0
    status, after, _ = call("OpsGetPolicyFunction", path={"number": pol["number"]}, ops=())
    assert after["status"] == "active" and after["insurer"]["insurer_id"] == ins  # the late issue stands
    assert after["insurer"]["attempts"][-1] == {
        **after["insurer"]["attempts"][-1],
        "call": "query",
        "outcome": "issued",
    }
    assert settle_at(clock)["checked"] == 0  # nothing left


def test_a_call_that_never_arrived_is_passed_on_after_the_query_closes_it(world):
    mock = world["mock"]
    ins = new_insurer(mock, "Insurer Lost", timeout_ms=200, retries=0)
    mock.control("mode", {"mode": "timeout", "hang_ms": 600})
    set_routes({"routes": [{"insurer_id": ins, "weight": 1}, {"insurer_id": "petcover", "weight": 0}]})
    status, pol, _ = underwrite(world["keys"], "o-t2")
    assert status == 202
    clock = Clock()
    clock.advance(minutes=2)
    assert settle_at(clock)["issued"] == 1
    status, after, _ = call("OpsGetPolicyFunction", path={"number": pol["number"]}, ops=())
    assert after["status"] == "active" and after["insurer"]["insurer_id"] == "petcover"
    assert pol["number"] in mock.mock.closed  # a late underwrite with that key would now be refused
    mock.control("mode", {"mode": "answer"})
    assert mock.mock.underwrite(pol["number"], {})[0] == 422


def test_uncertain_outcomes_at_volume_against_moto(aws):
    """The 1,000-order scenario of tests/unit/test_insurer_faults.py, smaller, on moto."""
    clock = Clock()
    p = runtime.aws_ports()
    p.clock = clock
    runtime.install(p)
    try:
        fakes = insurer_faults.setup(p, timeout_share=0.3)
        # One run at a time here: moto does not isolate concurrent transactions the way DynamoDB
        # does; overlapping runs are exercised on the in-memory store, which does.
        out = insurer_faults.run(p, clock, fakes, 40, runs_at_once=1)
    finally:
        runtime.install(None)
    assert not out.two_insurers and not out.no_insurer and not out.wrong_insurer, out
    assert out.answers["pending_insurer"] > 0 and out.webhooks == out.answers["pending_insurer"]


def test_a_channel_reads_the_history_of_its_contract_rates(world):
    from datetime import date

    from petcover.models.catalog import ContractTerms
    from petcover.services import catalog, credentials

    p = runtime.ports()
    terms = ContractTerms(
        premium_multiplier="1.2",
        commission_pct="12",
        permissions=["quote", "underwrite"],
        effective_from=date(2026, 1, 1),
    )
    catalog.modify_contract(p, STAFF, "shop-a", "pet-health", terms)
    status, got, _ = call("ContractRatesFunction", path={"productCode": "pet-health"}, key=world["keys"]["shop-a"])
    assert status == 200, got
    assert [(r["version"], r["premium_multiplier"], r["commission_pct"]) for r in got["rates"]] == [
        (1, "1.0", "10"),
        (2, "1.2", "12"),
    ]
    # Only its own: another channel without that contract gets 404, a provider is refused.
    status, _, _ = call("ContractRatesFunction", path={"productCode": "no-such-product"}, key=world["keys"]["shop-b"])
    assert status == 404
    prov = credentials.issue(p, "provider", "prv_x")
    status, err, _ = call("ContractRatesFunction", path={"productCode": "pet-health"}, key=(prov.key_id, prov.secret))
    assert status in (401, 403), err


def test_a_frozen_channel_services_its_policies_but_sells_no_new_ones(world):
    from petcover import authentication

    keys = world["keys"]
    status, pol, _ = underwrite(keys, "o-before-freeze", channel="shop-b")
    assert status == 201
    reason = {"reason": "contract under review"}
    status, ch, _ = call("FreezeChannelFunction", path={"channelId": "shop-b"}, body=reason, ops=("sales",))
    assert status == 200 and ch["status"] == "frozen", ch
    authentication.clear_cache()  # a container sees the change within 5 s (README, known limits)
    status, err, _ = underwrite(keys, "o-while-frozen", channel="shop-b")
    assert status == 403 and err["error"]["code"] == "CHANNEL_FROZEN"
    status, got, _ = call("GetPolicyFunction", path={"number": pol["number"]}, key=keys["shop-b"])
    assert status == 200 and got["status"] == "active"  # servicing continues
    status, err, _ = call("FreezeChannelFunction", path={"channelId": "shop-b"}, body=reason, ops=("sales",))
    assert status == 409 and err["error"]["code"] == "ILLEGAL_TRANSITION"
    status, ch, _ = call("UnfreezeChannelFunction", path={"channelId": "shop-b"}, body=reason, ops=("sales",))
    assert status == 200 and ch["status"] == "active"
    authentication.clear_cache()
    assert underwrite(keys, "o-after-unfreeze", channel="shop-b")[0] == 201
