"""Calls to an insurer's API: underwrite, query and claim (the contract is docs/insurer-api.md).

Every call is a signed POST (the partner signing scheme of ``petcover.signing``, with the key we
hold for that insurer) to a vetted URL (``petcover.outbound``: https, never a private address),
with the insurer's timeout. It carries our idempotency key (``Idempotency-Key``: the policy
number, or the claim number), so a retry after no answer or a 5xx can never issue twice: the
insurer answers a repeated key with its first answer.

What an answer means is decided here, once:

  issued      2xx ``{"status": "issued"}``: the insurer issued (its number in ``policy_number``)
  rejected    2xx ``{"status": "rejected"}`` or any 4xx but 409/429: it did not issue and never will
  not_found   a query's 404 or ``{"status": "not_found"}``: it never issued, and has closed the key
  unknown     no answer, a timeout, a 5xx, 409 (still in progress) or 429, after the retries
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from petcover import outbound, signing
from petcover.errors import BusinessRuleViolation
from petcover.outbound import HttpResult, Sender
from petcover.ports import Ports
from petcover.repositories import insurers as repo

Op = Literal["underwrite", "query", "claims"]
Outcome = Literal["issued", "rejected", "unknown", "not_found"]
SENDER_PORT = "insurer_send"  # Ports.extra key: tests put a fake insurer here

_opened: dict[tuple[str, str, str], str] = {}  # opened secrets, for the life of the container


@dataclass(frozen=True)
class Endpoint:
    insurer_id: str
    url: str
    timeout_ms: int
    retries: int
    key_id: str
    secret: str


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    detail: str | None = None
    insurer_policy_number: str | None = None
    latency_ms: int = 0
    reached: bool = True  # False: no HTTP answer at all (counts against the insurer's health)
    body: Mapping[str, Any] | None = None


def load_endpoint(p: Ports, insurer_id: str) -> Endpoint:
    item = p.store.get(*repo.endpoint_key(insurer_id), consistent=False)
    if item is None:
        raise BusinessRuleViolation(f"Insurer {insurer_id} has no API endpoint.", code="INSURER_NOT_CONFIGURED")
    d, sealed = repo.endpoint_data(item)
    cache_key = (insurer_id, d["key_id"], sealed)
    secret = _opened.get(cache_key)
    if secret is None:
        secret = p.box().open_secret(sealed, repo.endpoint_context(insurer_id, d["key_id"]))
        _opened[cache_key] = secret
    return Endpoint(insurer_id, d["url"], int(d["timeout_ms"]), int(d["retries"]), d["key_id"], secret)


def _sender(p: Ports) -> Sender:
    send = p.extra.get(SENDER_PORT)
    return send if send is not None else outbound.post  # type: ignore[no-any-return]


def _json(result: HttpResult) -> dict[str, Any]:
    try:
        data = json.loads(result.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def interpret(op: Op, result: HttpResult) -> Answer:
    """What one HTTP result says about the order (see the module docstring)."""
    latency = result.latency_ms
    if result.status is None:
        return Answer("unknown", result.error or "no answer", latency_ms=latency, reached=False)
    data = _json(result)
    status = str(data.get("status") or "")
    detail = str(data.get("reason") or data.get("message") or f"HTTP {result.status}")[:300]
    number = data.get("policy_number")
    if result.status >= 500:
        return Answer("unknown", f"HTTP {result.status}", latency_ms=latency, reached=False)
    if result.status in (409, 429) or status == "in_progress":
        return Answer("unknown", detail, latency_ms=latency)
    if op == "query" and (result.status == 404 or status == "not_found"):
        return Answer("not_found", detail, latency_ms=latency, body=data)
    if result.status >= 400 or status == "rejected":
        return Answer("rejected", detail, latency_ms=latency, body=data)
    if status in ("issued", "accepted"):
        return Answer("issued", None, str(number) if number else None, latency_ms=latency, body=data)
    return Answer("unknown", f"unexpected answer: {status or 'no status'}"[:300], latency_ms=latency)


def call(p: Ports, ep: Endpoint, op: Op, payload: Mapping[str, Any], idempotency_key: str) -> Answer:
    """One signed call with retries; every attempt carries the same idempotency key."""
    body = json.dumps(dict(payload), separators=(",", ":"), sort_keys=True, default=str).encode()
    url = f"{ep.url.rstrip('/')}/{op}"
    path = urlsplit(url).path or "/"
    send = _sender(p)
    answer = Answer("unknown", "not called", reached=False)
    total = 0
    for _ in range(ep.retries + 1):
        headers = signing.signed_headers(ep.key_id, ep.secret, "POST", path, None, body, now=int(p.now().timestamp()))
        headers["Idempotency-Key"] = idempotency_key
        answer = interpret(op, send(url, body, headers, ep.timeout_ms / 1000))
        total += answer.latency_ms
        if answer.outcome != "unknown":
            break
    return Answer(answer.outcome, answer.detail, answer.insurer_policy_number, total, answer.reached, answer.body)
