"""Credentials for calling a stack from the command line: ops bearer tokens and signed curl lines."""

from __future__ import annotations

import os
import shlex
import time

from petcover import signing, tokens


def ops_token(roles: list[str], sub: str = "cli") -> str:
    secret = os.environ.get("OPS_TOKEN_SECRET", "local-ops-secret-change-me")
    return tokens.mint(secret, sub, roles, now=int(time.time()), ttl_seconds=8 * 3600)


def portal_token(partner_id: str, kind: str = "provider", sub: str | None = None) -> str:
    """A local portal sign-in for the staff of one provider (or insurer), 8 hours."""
    from petcover import cognito

    secret = os.environ.get("OPS_TOKEN_SECRET", "local-ops-secret-change-me")
    who: cognito.PortalKind = "insurer" if kind == "insurer" else "provider"
    return cognito.mint_demo(secret, sub or f"demo-{partner_id}", who, partner_id, now=int(time.time()))


def curl_line(base: str, key_id: str, secret: str, method: str, path: str, body: str = "") -> str:
    headers = signing.signed_headers(key_id, secret, method, path, None, body.encode(), now=int(time.time()))
    parts = ["curl", "-s", "-X", method, f"{base}{path}"]
    for k, v in headers.items():
        parts += ["-H", f"{k}: {v}"]
    if body:
        parts += ["-H", "Content-Type: application/json", "--data", body]
    return " ".join(shlex.quote(p) for p in parts)
