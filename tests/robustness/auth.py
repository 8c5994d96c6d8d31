"""Credentials for generated requests: the partner signature and the ops bearer token.

Both are ``requests`` auth objects, so they see the *prepared* request: the exact body bytes,
method, path and query that go on the wire. Each signed request gets a fresh nonce and the
current timestamp, so a generated request reaches the handler instead of stopping at 401.

The signed path is the API path: the base URL's own path (``/restapis/{id}/v1/_user_request_``
on the local cloud) is stripped and percent-escapes are decoded, as API Gateway hands the
handler a decoded ``path``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import requests

from petcover import signing, tokens

LOCAL_OPS_SECRET = "local-ops-secret-change-me"  # template.yaml's OpsTokenSecret default (local stage)


def api_path(url: str, base_url: str) -> str:
    """The path the server sees: the URL's path without the base URL's prefix, percent-decoded."""
    prefix = urlsplit(base_url).path.rstrip("/")
    path = urlsplit(url).path
    if prefix and path.startswith(prefix):
        path = path[len(prefix) :] or "/"
    return unquote(path)


class PartnerSignature(requests.auth.AuthBase):
    """HMAC-SHA256 partner signature (key id, timestamp, fresh nonce) over the prepared request."""

    def __init__(self, key_id: str, secret: str, base_url: str, *, clock: Callable[[], float] = time.time) -> None:
        self.key_id = key_id
        self._secret = secret
        self.base_url = base_url
        self._clock = clock
        self.signed = 0

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body if isinstance(r.body, bytes) else r.body.encode() if isinstance(r.body, str) else b""
        url = r.url or ""
        headers = signing.signed_headers(
            self.key_id,
            self._secret,
            r.method or "GET",
            api_path(url, self.base_url),
            urlsplit(url).query or None,
            body,
            now=int(self._clock()),
        )
        r.headers.update(headers)
        self.signed += 1
        return r


class OpsBearer(requests.auth.AuthBase):
    """``Authorization: Bearer <token>`` for the ops API (admin by default, minted locally)."""

    def __init__(self, roles: tuple[str, ...] = ("admin",), *, secret: str = LOCAL_OPS_SECRET, sub: str = "fuzz"):
        self.token = tokens.mint(secret, sub, list(roles), now=int(time.time()), ttl_seconds=8 * 3600)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def assert_loopback(url: str) -> None:
    """The suite only ever talks to the local cloud on this machine."""
    host = urlsplit(url).hostname
    if host != "127.0.0.1":
        raise AssertionError(f"robustness traffic must stay on loopback (127.0.0.1); refusing {url!r}")
