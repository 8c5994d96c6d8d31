"""Python client for the petcover API (partners sign requests; ops send a bearer token).

Standard library only. HTTP error statuses come back as a ``Response``; only transport failures
(connection refused, timeout) raise ``urllib.error.URLError`` / ``TimeoutError``.

The signed path is the API path the caller passes (``"/policies/P1"``), not the base URL's path,
so a base URL such as ``http://127.0.0.1:4566/restapis/abc/v1/_user_request_`` works unchanged.
"""

from __future__ import annotations

import json as jsonlib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from petcover import signing


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def json(self) -> Any:
        """The decoded JSON body, or None when the body is empty or not JSON."""
        if not self.body:
            return None
        try:
            return jsonlib.loads(self.body)
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would re-send a signature made for another path; hand the 3xx back instead.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _BaseClient:
    def __init__(self, base_url: str, *, timeout: float = 10) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # No proxies from the environment: the API (often 127.0.0.1) is called directly.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def _auth_headers(self, method: str, path: str, query: signing.Query, body: bytes) -> dict[str, str]:
        raise NotImplementedError

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        query: Mapping[str, str | list[str]] | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        if not path.startswith("/") or "?" in path:
            raise ValueError("path must start with '/' and carry no query string; pass query= instead")
        method = method.upper()
        body = b"" if json is None else jsonlib.dumps(json, separators=(",", ":")).encode()
        # Send the canonical query itself so the server decodes exactly the pairs we signed.
        query_string = signing.canonical_query(query)
        url = self.base_url + path + (f"?{query_string}" if query_string else "")

        all_headers = {"Accept": "application/json"}
        if json is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        if idempotency_key is not None:
            all_headers["Idempotency-Key"] = idempotency_key
        all_headers.update(self._auth_headers(method, path, query, body))

        data = body if body or method in ("POST", "PUT", "PATCH") else None
        req = urllib.request.Request(url, data=data, headers=all_headers, method=method)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return Response(resp.status, _headers(resp.headers.items()), resp.read())
        except urllib.error.HTTPError as err:
            with err:
                return Response(err.code, _headers(err.headers.items()), err.read())

    def get(
        self,
        path: str,
        *,
        query: Mapping[str, str | list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return self.request("GET", path, query=query, headers=headers)

    def post(
        self,
        path: str,
        json: Any = None,
        *,
        query: Mapping[str, str | list[str]] | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return self.request("POST", path, json=json, query=query, idempotency_key=idempotency_key, headers=headers)

    def put(
        self,
        path: str,
        json: Any = None,
        *,
        query: Mapping[str, str | list[str]] | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return self.request("PUT", path, json=json, query=query, idempotency_key=idempotency_key, headers=headers)

    def patch(
        self,
        path: str,
        json: Any = None,
        *,
        query: Mapping[str, str | list[str]] | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return self.request("PATCH", path, json=json, query=query, idempotency_key=idempotency_key, headers=headers)

    def delete(
        self,
        path: str,
        *,
        query: Mapping[str, str | list[str]] | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return self.request("DELETE", path, query=query, idempotency_key=idempotency_key, headers=headers)


def _headers(items: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


class PetcoverClient(_BaseClient):
    """Partner client: every request carries X-Pc-Key-Id/-Timestamp/-Nonce/-Signature."""

    def __init__(
        self,
        base_url: str,
        key_id: str,
        secret: str,
        *,
        timeout: float = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(base_url, timeout=timeout)
        self.key_id = key_id
        self._secret = secret
        self._clock = clock

    def _auth_headers(self, method: str, path: str, query: signing.Query, body: bytes) -> dict[str, str]:
        return signing.signed_headers(self.key_id, self._secret, method, path, query, body, now=int(self._clock()))


class OpsClient(_BaseClient):
    """Ops console client: sends ``Authorization: Bearer <token>``."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10) -> None:
        super().__init__(base_url, timeout=timeout)
        self._token = token

    def _auth_headers(self, method: str, path: str, query: signing.Query, body: bytes) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}
