"""Idempotency-Key through the adapter, in-process against moto (Powertools' table built from the template).

Two concurrent calls with one key: the second is told the first is in flight (409 + Retry-After) and
nothing runs twice. Records are keyed by operation id, so two operations never answer for each other.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from petcover import runtime
from petcover.api import Call, NoBody, api, public
from petcover.identity import Principal
from petcover.models.policies import Policy, UnderwriteRequest
from petcover.repositories import policies as policy_repo
from petcover.services import policies
from tests.support import events
from tests.support.calls import handler_of, sign
from tests.support.fixtures import catalogue

BODY = {
    "product_code": "pet-health",
    "plan_code": "basic",
    "insured": {"insured_id": "pet-1", "species": "dog", "breed_size": "small", "age_months": 30, "region": "310115"},
    "channel_order_id": "order-1",
    "holder": {"name": "Li Lei"},
}


def _underwrite(key: tuple[str, str], idem: str) -> dict[str, Any]:
    ev = events.api("UnderwriteFunction", body=BODY, headers={"Idempotency-Key": idem})
    return handler_of("UnderwriteFunction")(sign(ev, *key), None)  # type: ignore[no-any-return]


class Held:
    """Wraps the underwrite service: the first call stops inside until the test lets it go."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.entered = threading.Event()
        self.go = threading.Event()
        self.runs = 0

    def __call__(self, p: Any, who: Principal, req: UnderwriteRequest) -> Policy:
        self.runs += 1
        self.entered.set()
        assert self.go.wait(timeout=30), "the test never let the first call finish"
        return self.real(p, who, req)  # type: ignore[no-any-return]


def test_a_second_call_with_the_same_key_while_the_first_runs_is_409_with_retry_after(aws, monkeypatch):
    key = catalogue(runtime.ports())["shop-a"]
    held = Held(policies.underwrite)
    monkeypatch.setattr(policies, "underwrite", held)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(_underwrite, key, "order-1")
        assert held.entered.wait(timeout=30), "the first call never started"
        second = _underwrite(key, "order-1")  # same key, same body, while the first holds the record
        held.go.set()
        done = first.result(timeout=60)
    assert second["statusCode"] == 409, second
    assert json.loads(second["body"])["error"]["code"] == "REQUEST_IN_PROGRESS"
    assert second["headers"]["Retry-After"] == "1"
    assert done["statusCode"] == 201, done
    number = json.loads(done["body"])["number"]
    # The retry the client makes after Retry-After gets the first answer; nothing ran twice.
    retry = _underwrite(key, "order-1")
    assert retry["statusCode"] == 201 and retry["headers"].get("Idempotency-Replayed") == "true"
    assert json.loads(retry["body"])["number"] == number
    assert held.runs == 1
    found = policy_repo.by_order(runtime.ports().store, "shop-a", "order-1")
    assert found is not None and found.number == number


def _records() -> list[dict[str, Any]]:
    from petcover.config import get_settings

    table = boto3.resource("dynamodb", region_name="us-east-1").Table(get_settings().idempotency_table)
    return table.scan()["Items"]  # type: ignore[no-any-return]


SAME_METRIC = "SomethingCounted"


@api(summary="first", auth=public(), response=dict, idempotent=True, metric=SAME_METRIC)
def first_operation(call: Call[NoBody]) -> dict[str, str]:
    return {"answered_by": "first"}


@api(summary="second", auth=public(), response=dict, idempotent=True, metric=SAME_METRIC)
def second_operation(call: Call[NoBody]) -> dict[str, str]:
    return {"answered_by": "second"}


def _probe(handler: Any, idem: str) -> tuple[int, Any, dict[str, str]]:
    ev = {
        "httpMethod": "POST",
        "path": "/probe",
        "resource": "/probe",
        "headers": {"Idempotency-Key": idem},
        "body": None,
    }
    resp = handler(ev, None)
    return resp["statusCode"], json.loads(resp["body"]), resp["headers"]


@pytest.mark.usefixtures("aws")
def test_two_operations_with_one_metric_name_and_one_key_never_answer_for_each_other():
    status, one, _ = _probe(first_operation, "k-1")
    assert (status, one) == (200, {"answered_by": "first"})
    status, two, headers = _probe(second_operation, "k-1")
    assert (status, two) == (200, {"answered_by": "second"}), "the second operation replayed the first's answer"
    assert "Idempotency-Replayed" not in headers
    status, again, headers = _probe(first_operation, "k-1")
    assert (again, headers.get("Idempotency-Replayed")) == ({"answered_by": "first"}, "true")
    assert len(_records()) == 2  # one record per operation
    assert first_operation.spec.operation_id.endswith("test_idempotency.first_operation")  # type: ignore[attr-defined]
