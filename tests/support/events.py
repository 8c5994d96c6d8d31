"""Loads sample events from events/ by function name and fills them in."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from infra import template


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((template.ROOT / "events" / f"{name}.json").read_text())  # type: ignore[no-any-return]


def api(
    name: str,
    *,
    path_params: dict[str, str] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    ev = copy.deepcopy(_load(name))
    if path_params:
        ev["pathParameters"] = path_params
        path = ev["resource"]
        for k, v in path_params.items():
            path = path.replace("{" + k + "}", v)
        ev["path"] = path
    if raw_body is not None:
        ev["body"] = raw_body
    elif body is not None:
        ev["body"] = json.dumps(body)
    ev["headers"] = {**ev["headers"], **(headers or {})}
    ev["queryStringParameters"] = query
    return ev


def sqs(name: str, bodies: list[Any], *, receive_count: int = 1) -> dict[str, Any]:
    ev = copy.deepcopy(_load(name))
    proto = ev["Records"][0]
    ev["Records"] = [
        {
            **proto,
            "messageId": f"m-{i}",
            "body": json.dumps(b),
            "attributes": {"ApproximateReceiveCount": str(receive_count)},
        }
        for i, b in enumerate(bodies)
    ]
    return ev


def schedule(name: str, time: str | None = None) -> dict[str, Any]:
    ev = copy.deepcopy(_load(name))
    if time:
        ev["time"] = time
    return ev


def rule(name: str, detail: dict[str, Any]) -> dict[str, Any]:
    ev = copy.deepcopy(_load(name))
    ev["detail"] = detail
    return ev
