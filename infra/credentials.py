"""Credentials for calling a stack from the command line: ops bearer tokens and signed curl lines."""

from __future__ import annotations

import os
import shlex
import time

from petcover import signing, tokens


def ops_token(roles: list[str], sub: str = "cli") -> str:
    secret = os.environ.get("OPS_TOKEN_SECRET", "local-ops-secret-change-me")
    return tokens.mint(secret, sub, roles, now=int(time.time()), ttl_seconds=8 * 3600)


def curl_line(base: str, key_id: str, secret: str, method: str, path: str, body: str = "") -> str:
    headers = signing.signed_headers(key_id, secret, method, path, None, body.encode(), now=int(time.time()))
    parts = ["curl", "-s", "-X", method, f"{base}{path}"]
    for k, v in headers.items():
        parts += ["-H", f"{k}: {v}"]
    if body:
        parts += ["-H", "Content-Type: application/json", "--data", body]
    return " ".join(shlex.quote(p) for p in parts)
