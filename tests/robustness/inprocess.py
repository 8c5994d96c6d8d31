"""Send a prepared HTTP request to the Lambda handler template.yaml routes it to, in-process.

Used by the bounded hostile-input run: every operation of the API is exercised against moto in
one process (no cold starts), with the same request bytes, signature and token a client would
send. The event is built the way API Gateway (REST, proxy integration) builds it: decoded
``path``, the route template as ``resource``, decoded path parameters, single and multi-value
query parameters, and a body decoded as UTF-8 (undecodable bytes replaced, as the gateway does).
"""

from __future__ import annotations

import base64
import importlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import requests
from schemathesis import Response

from infra import template
from tests.robustness.auth import api_path

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    function: str
    handler: str
    segments: tuple[str, ...]

    def match(self, method: str, raw_segments: list[str]) -> dict[str, str] | None:
        if method != self.method:
            return None
        greedy = re.fullmatch(r"{(\w+)\+}", self.segments[-1]) if self.segments else None
        if greedy:  # {name+} takes one or more trailing segments, as API Gateway's greedy variable does
            head = len(self.segments) - 1
            rest = raw_segments[head:]
            if not rest or not all(rest):
                return None
            params = Route(self.method, self.template, self.function, self.handler, self.segments[:-1]).match(
                method, raw_segments[:head]
            )
            return None if params is None else {**params, greedy.group(1): unquote("/".join(rest))}
        if len(raw_segments) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for want, got in zip(self.segments, raw_segments, strict=True):
            m = re.fullmatch(r"{(\w+)}", want)
            if m:
                if not got:
                    return None
                params[m.group(1)] = unquote(got)
            elif unquote(got) != want:
                return None
        return params


def routes() -> list[Route]:
    out = []
    for r in template.routes():
        segs = tuple(s for s in r.path.strip("/").split("/") if s)
        out.append(Route(r.method, r.path, r.function, r.handler, segs))
    # Literal segments win over variables (API Gateway's own precedence).
    # A greedy variable matches only when nothing more specific does.
    out.sort(
        key=lambda r: (
            r.segments[-1:] != () and r.segments[-1].endswith("+}"),
            sum(1 for s in r.segments if s.startswith("{")),
        )
    )
    return out


class LambdaSender:
    """``send(prepared) -> Response``: the route's handler called with an API Gateway event."""

    def __init__(self, base_url: str = "http://127.0.0.1/v1") -> None:
        self.base_url = base_url
        self._routes = routes()
        self._handlers: dict[str, Handler] = {}
        self.unroutable = 0

    def handler(self, handler_path: str) -> Handler:
        if handler_path not in self._handlers:
            module, attr = template.handler_module(handler_path)
            self._handlers[handler_path] = getattr(importlib.import_module(module), attr)
        return self._handlers[handler_path]

    def route_of(self, method: str, url: str) -> tuple[Route, dict[str, str]] | None:
        raw = urlsplit(url).path
        prefix = urlsplit(self.base_url).path.rstrip("/")
        if prefix and raw.startswith(prefix):
            raw = raw[len(prefix) :]
        segments = [s for s in raw.strip("/").split("/")]
        segments = [] if segments == [""] else segments
        for route in self._routes:
            params = route.match(method, segments)
            if params is not None:
                return route, params
        return None

    def event(self, prepared: requests.PreparedRequest) -> tuple[dict[str, Any], Route] | None:
        method = (prepared.method or "GET").upper()
        url = prepared.url or ""
        found = self.route_of(method, url)
        if found is None:
            return None
        route, params = found
        pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
        multi: dict[str, list[str]] = {}
        for k, v in pairs:
            multi.setdefault(k, []).append(v)
        raw = prepared.body
        body = raw if isinstance(raw, bytes) else raw.encode() if isinstance(raw, str) else b""
        event = {
            "resource": route.template,
            "path": api_path(url, self.base_url),
            "httpMethod": method,
            "headers": dict(prepared.headers),
            "multiValueHeaders": {k: [v] for k, v in prepared.headers.items()},
            "queryStringParameters": {k: v[0] for k, v in multi.items()} or None,
            "multiValueQueryStringParameters": multi or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "stage": "v1",
                "requestId": f"inproc-{time.time_ns()}",
                "httpMethod": method,
                "resourcePath": route.template,
            },
            "body": body.decode("utf-8", errors="replace") if body else None,
            "isBase64Encoded": False,
        }
        return event, route

    def send(self, prepared: requests.PreparedRequest) -> Response | None:
        """The handler's answer, or None when no route matches (API Gateway would answer itself)."""
        built = self.event(prepared)
        if built is None:
            self.unroutable += 1
            return None
        event, route = built
        t0 = time.perf_counter()
        result = self.handler(route.handler)(event, None)
        elapsed = time.perf_counter() - t0
        content = result.get("body") or ""
        raw = base64.b64decode(content) if result.get("isBase64Encoded") else str(content).encode()
        headers = {k: [str(v)] for k, v in (result.get("headers") or {}).items()}
        return Response(
            status_code=int(result["statusCode"]),
            headers=headers,
            content=raw,
            request=prepared,
            elapsed=elapsed,
            verify=True,
        )


def json_or_none(resp: Response) -> Any:
    try:
        return json.loads(resp.content or b"null")
    except ValueError:
        return None
