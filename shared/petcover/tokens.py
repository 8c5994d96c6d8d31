"""Ops bearer tokens: compact JWS/JWT with HS256, standard library only.

Payload: ``sub``, ``roles``, ``iat``, ``exp`` (unix seconds) and optional ``partner_id``.
Only ``alg: HS256`` is accepted, so a token cannot downgrade itself to ``none``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re

from pydantic import BaseModel, ConfigDict, ValidationError

from petcover.errors import Unauthenticated
from petcover.identity import ROLES, role_allows

_MAX_TOKEN_CHARS = 8192
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")


class Claims(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    sub: str
    roles: list[str]
    exp: int
    iat: int
    partner_id: str | None = None


def has_role(claims: Claims, *allowed: str) -> bool:
    """True when the caller holds any of ``allowed``; admin holds every role."""
    return role_allows(claims.roles, allowed)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not _B64URL_RE.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


def _signature(secret: str, signing_input: str) -> bytes:
    if not secret:
        raise ValueError("token secret must not be empty")
    return hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()


def mint(
    secret: str,
    subject: str,
    roles: list[str],
    *,
    now: int,
    ttl_seconds: int = 3600,
    partner_id: str | None = None,
) -> str:
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise ValueError(f"unknown roles {unknown}; expected some of {ROLES}")
    if not subject:
        raise ValueError("subject must not be empty")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    payload: dict[str, object] = {"sub": subject, "roles": list(roles), "iat": now, "exp": now + ttl_seconds}
    if partner_id is not None:
        payload["partner_id"] = partner_id
    signing_input = f"{_b64encode(_json({'alg': 'HS256', 'typ': 'JWT'}))}.{_b64encode(_json(payload))}"
    return f"{signing_input}.{_b64encode(_signature(secret, signing_input))}"


def _malformed(reason: str) -> Unauthenticated:
    return Unauthenticated(f"Bearer token is malformed: {reason}.", code="TOKEN_MALFORMED")


def verify(secret: str, token: str, *, now: int) -> Claims:
    """Check structure, then signature, then claims, then expiry; raise Unauthenticated on failure."""
    if not token or len(token) > _MAX_TOKEN_CHARS:
        raise _malformed("empty or too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise _malformed("expected three dot-separated parts")
    try:
        header = json.loads(_b64decode(parts[0]))
        signature = _b64decode(parts[2])
    except (ValueError, binascii.Error):
        raise _malformed("header or signature is not valid base64url JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise _malformed("only alg HS256 is accepted")
    if not hmac.compare_digest(_signature(secret, f"{parts[0]}.{parts[1]}"), signature):
        raise Unauthenticated("Bearer token signature is invalid.", code="TOKEN_BAD_SIGNATURE")
    try:
        claims = Claims.model_validate_json(_b64decode(parts[1]))
    except (ValueError, binascii.Error, ValidationError):
        raise _malformed("payload is not valid claims") from None
    if now >= claims.exp:
        raise Unauthenticated("Bearer token has expired; sign in again.", code="TOKEN_EXPIRED")
    return claims
