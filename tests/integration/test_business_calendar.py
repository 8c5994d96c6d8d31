"""The business calendar through the handlers, on moto: the expiry job as EventBridge invokes it
(its watermark in DynamoDB), and signed booking and claim calls around a Shanghai midnight."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from petcover import runtime
from petcover.identity import Principal
from petcover.ports import Ports
from petcover.repositories import policies as policy_repo
from tests.support import events
from tests.support.business_time import TIMES, around, business_day, issue_on, local, world
from tests.support.calls import handler_of, sign
from tests.support.clock import Clock
from tests.support.fixtures import channel_with_contracts

NEW_YEAR = date(2027, 1, 1)
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
    key: tuple[str, str]

    def call(self, function: str, number: str, body: dict[str, Any], idem: str) -> tuple[int, Any]:
        """A call signed at the clock's time, as the channel's server would send it then."""
        ev = events.api(function, path_params={"number": number}, body=body, headers={"Idempotency-Key": idem})
        sign(ev, *self.key, now=int(self.clock.now.timestamp()))
        resp = handler_of(function)(ev, None)
        return resp["statusCode"], json.loads(resp["body"])

    def expire(self) -> dict[str, Any]:
        result: dict[str, Any] = handler_of("ExpirePoliciesFunction")(events.schedule("ExpirePoliciesFunction"), None)
        return result


@pytest.fixture
def w(aws: dict[str, str]) -> World:
    p = runtime.ports()
    clock = world(p)  # shop-a is signed up with every product
    key = channel_with_contracts(p, "shop-k", products=("pet-health",))
    return World(p, clock, key)


def test_the_expiry_job_catches_up_missed_nights_behind_a_watermark_in_the_table(w: World) -> None:
    for i, end in enumerate((NEW_YEAR - timedelta(days=1), NEW_YEAR, NEW_YEAR)):
        issue_on(w.p, w.clock, end - timedelta(days=365), order=f"e-{i}", pet=f"e-pet-{i}")
    w.clock.set(local(NEW_YEAR - timedelta(days=2), 0, 10))
    assert w.expire()["expired"] == 0
    assert policy_repo.expiry_watermark(w.p.store) == NEW_YEAR - timedelta(days=2)
    w.clock.set(local(NEW_YEAR, 0, 10))  # the night of Dec 31st was missed
    result = w.expire()
    assert result["days"] == [{"day": "2026-12-31", "expired": 1}, {"day": "2027-01-01", "expired": 2}]
    assert result["expired"] == 3 and result["through"] == "2027-01-01"
    assert policy_repo.expiry_watermark(w.p.store) == NEW_YEAR
    assert w.expire() == {"through": "2027-01-01", "days": [], "expired": 0}


def _policy_of_shop_k(w: World, start: date) -> str:
    """A pet-health policy of shop-k whose 365-day term starts on ``start``."""
    return issue_on(w.p, w.clock, start, order="k-1", pet="pet-k", who=Principal("channel", "shop-k")).number


@pytest.mark.parametrize("clock_time", TIMES)
def test_a_signed_booking_against_a_term_that_ended_is_refused(w: World, clock_time: str) -> None:
    number = _policy_of_shop_k(w, NEW_YEAR - timedelta(days=365))
    w.clock.set(around(NEW_YEAR, clock_time))
    body = {"benefit_code": "medicine-delivery", "pet": {"pet_id": "pet-k", "name": "Bobo"}, "address": ADDRESS}
    status, out = w.call("BookAppointmentFunction", number, body, "b-1")
    if clock_time == "23:59":
        assert status == 201, out
    else:
        assert (status, out["error"]["code"]) == (422, "POLICY_NOT_IN_FORCE")


@pytest.mark.parametrize("clock_time", TIMES)
def test_a_signed_same_day_claim_is_accepted(w: World, clock_time: str) -> None:
    number = _policy_of_shop_k(w, date(2026, 6, 1))
    w.clock.set(around(NEW_YEAR, clock_time))
    today = business_day(NEW_YEAR, clock_time).isoformat()
    body = {"incident_date": today, "incident_type": "illness", "amount": "300.00", "benefit_code": "treatment"}
    status, out = w.call("SubmitClaimFunction", number, body, "c-1")
    assert status == 201, out
    assert out["incident_date"] == today
