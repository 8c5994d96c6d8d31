"""Round trips of a warm container, per goal operation: each is called a few times through its
handler (signature, contract, idempotency and store alike, counted at botocore as on AWS) and the
last call, whose container has filled its caches, is held to the platform's goal. The bench's table
(``python -m tests.bench.bench_round_trips``) reports every handler the integration tests invoke,
cold calls included.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest

from petcover import runtime
from petcover.config import get_settings
from petcover.services.dispatch import assignment
from petcover.services.fulfilment import views
from tests.support import events
from tests.support.calls import call, handler_of
from tests.support.clock import Clock
from tests.support.demo_booking import ADDRESS
from tests.support.dispatch import rule
from tests.support.fixtures import catalogue
from tests.support.policies import issue_policy
from tests.support.providers import onboard_provider
from tests.support.round_trips import counting

PET = {"species": "dog", "breed_size": "small", "age_months": 30, "region": "310115"}
CALLS = 3  # the first fills the container's caches; the last is the one held to its goal


@pytest.fixture
def world(aws: dict[str, str]) -> dict[str, Any]:
    p = runtime.ports()
    clock = Clock()
    p.clock = clock
    now = clock.now
    clock.now = now - timedelta(days=60)  # on sale long enough for a policy past its waiting period
    keys = catalogue(p, ("shop-a",))
    clock.now = now
    numbers = [issue_policy(p, clock, order=f"old-{i}", pet=f"old-pet-{i}") for i in range(CALLS)]
    return {"key": keys["shop-a"], "numbers": numbers}


def warm(make: Callable[[int], tuple[int, Any, dict[str, str]]]) -> Counter[str]:
    """The DynamoDB calls of the last of ``CALLS`` successful calls."""
    last: Counter[str] = Counter()
    for i in range(CALLS):
        with counting() as calls:
            status, body, _ = make(i)
        assert 200 <= status < 300, body
        last = calls
    return last


def test_a_warm_quote_takes_at_most_two_round_trips(world):
    body = {"product_code": "pet-health", "plan_code": "basic", "insured": {**PET, "insured_id": "pet-q"}}
    calls = warm(lambda i: call("QuoteFunction", body=body, key=world["key"]))
    assert sum(calls.values()) <= 2, calls


def test_a_warm_policy_query_takes_at_most_two_round_trips(world):
    number = world["numbers"][0]
    calls = warm(lambda i: call("GetPolicyFunction", path={"number": number}, key=world["key"]))
    assert sum(calls.values()) <= 2, calls


def test_a_warm_underwrite_takes_at_most_five_round_trips(world):
    def underwrite(i: int) -> tuple[int, Any, dict[str, str]]:
        body = {
            "product_code": "pet-health",
            "plan_code": "basic",
            "insured": {**PET, "insured_id": f"pet-{i}"},
            "channel_order_id": f"order-{i}",
            "holder": {"name": "Li Lei"},
        }
        return call("UnderwriteFunction", body=body, key=world["key"], idem=f"uw-{i}")

    calls = warm(underwrite)
    assert sum(calls.values()) <= 5, calls


def test_a_warm_booking_takes_at_most_four_round_trips(world):
    def book(i: int) -> tuple[int, Any, dict[str, str]]:
        body = {"benefit_code": "medicine-delivery", "pet": {"pet_id": f"old-pet-{i}", "name": "Bobo"}}
        body["address"] = ADDRESS
        number = world["numbers"][i]
        return call("BookAppointmentFunction", path={"number": number}, body=body, key=world["key"], idem=f"bk-{i}")

    calls = warm(book)
    assert sum(calls.values()) <= 4, calls


def test_a_warm_dispatch_assignment_takes_at_most_four_round_trips(world):
    """Booked medicine deliveries, each consumed from DispatchQueue by the consumer's handler: the
    decision, its slot and fulfilment's assignment in one transaction."""
    p = runtime.ports()
    assignment.clear_caches()
    pharmacy = onboard_provider(p, "Pharmacy", services=("medicine_delivery",))
    rules = {"rules": [rule({pharmacy: 100}, service="medicine_delivery")]}
    assert call("PublishDispatchRulesFunction", body=rules, ops=("ops",))[0] == 201
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = get_settings().dispatch_queue_url
    consume = handler_of("DispatchConsumeFunction")
    booked = []

    def dispatch(i: int) -> tuple[int, Any, dict[str, str]]:
        body = {"benefit_code": "medicine-delivery", "pet": {"pet_id": f"old-pet-{i}", "name": "Bobo"}}
        path = {"number": world["numbers"][i]}
        status, appt, _ = call(
            "BookAppointmentFunction", path=path, body={**body, "address": ADDRESS}, key=world["key"], idem=f"dp-{i}"
        )
        assert status == 201, appt
        (m,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        booked.append(appt["appointment_id"])
        with counting() as calls:
            out = consume(events.sqs("DispatchConsumeFunction", [json.loads(m["Body"])]), None)
        dispatched.append(calls)
        return (200 if out["batchItemFailures"] == [] else 500), out, {}

    dispatched: list[Counter[str]] = []
    warm(dispatch)
    assert sum(dispatched[-1].values()) <= 4, dispatched[-1]
    for aid in booked:
        appt = views.get_for_staff(p, aid).appointment
        assert appt.status == "booking" and appt.provider_id == pharmacy
