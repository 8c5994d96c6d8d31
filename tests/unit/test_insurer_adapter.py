"""What an insurer's answer means (docs/insurer-api.md), and the signed call with its retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from petcover import signing
from petcover.outbound import HttpResult
from petcover.ports import Ports
from petcover.services.insurers import adapter


def result(status: int | None, body: dict[str, object] | None = None) -> HttpResult:
    return HttpResult(status, 10, None if status else "TimeoutError", json.dumps(body or {}).encode())


@pytest.mark.parametrize(
    ("op", "answer", "outcome"),
    [
        ("underwrite", result(200, {"status": "issued", "policy_number": "X1"}), "issued"),
        ("underwrite", result(200, {"status": "rejected"}), "rejected"),
        ("underwrite", result(422, {"status": "rejected", "reason": "age"}), "rejected"),
        ("underwrite", result(401), "rejected"),
        ("underwrite", result(409, {"status": "in_progress"}), "unknown"),
        ("underwrite", result(429), "unknown"),
        ("underwrite", result(503), "unknown"),
        ("underwrite", result(None), "unknown"),
        ("underwrite", result(200, {"status": "something else"}), "unknown"),
        ("query", result(404), "not_found"),
        ("query", result(200, {"status": "not_found"}), "not_found"),
        ("query", result(200, {"status": "issued", "policy_number": "X1"}), "issued"),
        ("query", result(None), "unknown"),
    ],
)
def test_answers_are_read_once_and_only_a_definite_no_is_a_no(op, answer, outcome):
    assert adapter.interpret(op, answer).outcome == outcome


def test_retries_carry_the_same_idempotency_key_and_a_valid_signature_each_time():
    seen: list[tuple[str, dict[str, str]]] = []
    answers = [result(None), result(503), result(200, {"status": "issued", "policy_number": "X9"})]

    def send(url, body, headers, timeout):
        seen.append((url, dict(headers)))
        record = signing.KeyRecord(key_id="ink_1", secret="s3cret", owner_id="p", owner_kind="insurer")
        signing.verify(
            headers,
            "POST",
            "/api/underwrite",
            None,
            body,
            lookup_key=lambda k: record,
            remember_nonce=lambda *a: True,
            now=int(datetime.now(UTC).timestamp()),
        )
        assert timeout == 0.5
        return answers[len(seen) - 1]

    p = Ports(store=None, publisher=None, extra={adapter.SENDER_PORT: send})  # type: ignore[arg-type]
    ep = adapter.Endpoint("ins_1", "https://insurer.example/api", 500, 2, "ink_1", "s3cret")
    got = adapter.call(p, ep, "underwrite", {"policy_number": "PC1"}, "PC1")
    assert got.outcome == "issued" and got.insurer_policy_number == "X9"
    assert [u for u, _ in seen] == ["https://insurer.example/api/underwrite"] * 3
    assert {h["Idempotency-Key"] for _, h in seen} == {"PC1"}
    assert len({h[signing.NONCE_HEADER] for _, h in seen}) == 3  # a fresh nonce per attempt


def test_after_the_retries_no_answer_stays_unknown():
    p = Ports(store=None, publisher=None, extra={adapter.SENDER_PORT: lambda *a: result(None)})  # type: ignore[arg-type]
    ep = adapter.Endpoint("ins_1", "https://insurer.example", 100, 1, "ink_1", "s")
    got = adapter.call(p, ep, "underwrite", {}, "PC2")
    assert got.outcome == "unknown" and not got.reached
