"""Calling handlers in-process like API Gateway would: ops tokens, partner signatures."""

from __future__ import annotations

import importlib
import json
import time
from typing import Any

from petcover import signing, tokens
from tests.support import events

OPS_SECRET = "test-ops-secret"


def ops_headers(*roles: str, sub: str = "alice") -> dict[str, str]:
    token = tokens.mint(OPS_SECRET, sub, list(roles or ("admin",)), now=int(time.time()))
    return {"Authorization": f"Bearer {token}"}


def sign(event: dict[str, Any], key_id: str, secret: str, *, now: int | None = None) -> dict[str, Any]:
    body = (event.get("body") or "").encode()
    hdrs = signing.signed_headers(
        key_id,
        secret,
        event["httpMethod"],
        event["path"],
        event.get("queryStringParameters") or None,
        body,
        now=now or int(time.time()),
    )
    event["headers"] = {**event["headers"], **hdrs}
    return event


def handler_of(function: str) -> Any:
    from infra import template
    from tests.support import round_trips

    fn = template.functions()[function]["Properties"]["Handler"]
    module, attr = template.handler_module(fn)
    return round_trips.wrap(function, getattr(importlib.import_module(module), attr))


def call(
    function: str,
    *,
    path: dict[str, str] | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    ops: tuple[str, ...] | None = None,
    key: tuple[str, str] | None = None,
    idem: str | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """Invoke the function the template routes to; returns (status, json body, headers)."""
    hdrs = dict(headers or {})
    if ops is not None:
        hdrs.update(ops_headers(*ops))
    if idem:
        hdrs["Idempotency-Key"] = idem
    ev = events.api(function, path_params=path, body=body, headers=hdrs, query=query)
    if key is not None:
        sign(ev, *key)
    resp = handler_of(function)(ev, None)
    text = resp.get("body") or ""
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text
    return resp["statusCode"], parsed, resp.get("headers", {})
