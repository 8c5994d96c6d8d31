"""Ops bearer tokens: compact JWS/JWT with HS256, through PyJWT.

Payload: ``sub``, ``roles``, ``iat``, ``exp`` (unix seconds) and optional ``partner_id``.
Only ``alg: HS256`` is accepted, so a token cannot downgrade itself to ``none``.
"""

from __future__ import annotations

import jwt
from pydantic import ConfigDict, ValidationError

from petcover.errors import Unauthenticated
from petcover.identity import ROLES, role_allows
from petcover.models.base import Model

_MAX_TOKEN_CHARS = 8192
_ALGORITHMS = ["HS256"]
_REQUIRED = ["sub", "roles", "exp", "iat"]
# PyJWT checks structure, algorithm, signature and that the claims are present. The time
# claims are checked below against the caller's ``now``; other registered claims were never
# part of these tokens and stay unchecked, as before.
_DECODE_OPTIONS: jwt.types.Options = {
    "require": _REQUIRED,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_jti": False,
}


class Claims(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    sub: str
    roles: list[str]
    exp: int
    iat: int
    partner_id: str | None = None


def has_role(claims: Claims, *allowed: str) -> bool:
    """True when the caller holds any of ``allowed``; admin holds every role."""
    return role_allows(claims.roles, allowed)


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
    if not secret:
        raise ValueError("token secret must not be empty")
    payload: dict[str, object] = {"sub": subject, "roles": list(roles), "iat": now, "exp": now + ttl_seconds}
    if partner_id is not None:
        payload["partner_id"] = partner_id
    # Keys in sorted order: the same bytes as the tokens minted before PyJWT.
    return jwt.encode(dict(sorted(payload.items())), secret, algorithm="HS256")


def _malformed(reason: str) -> Unauthenticated:
    return Unauthenticated(f"Bearer token is malformed: {reason}.", code="TOKEN_MALFORMED")


def verify(secret: str, token: str, *, now: int) -> Claims:
    """Check structure, then signature, then claims, then expiry; raise Unauthenticated on failure."""
    if not token or len(token) > _MAX_TOKEN_CHARS:
        raise _malformed("empty or too long")
    if token.count(".") != 2:
        raise _malformed("expected three dot-separated parts")
    if not secret:
        raise ValueError("token secret must not be empty")
    try:
        payload = jwt.decode(token, secret, algorithms=_ALGORITHMS, options=_DECODE_OPTIONS)
    except jwt.InvalidSignatureError:
        raise Unauthenticated("Bearer token signature is invalid.", code="TOKEN_BAD_SIGNATURE") from None
    except jwt.InvalidAlgorithmError:
        raise _malformed("only alg HS256 is accepted") from None
    except jwt.DecodeError as exc:
        # PyJWT parses the payload's JSON only after the signature has been checked.
        after_signature = str(exc).startswith("Invalid payload string")
        raise _malformed(
            "payload is not valid claims" if after_signature else "header or signature is not valid base64url JSON"
        ) from None
    except jwt.InvalidTokenError:
        raise _malformed("payload is not valid claims") from None
    try:
        claims = Claims.model_validate(payload)
    except ValidationError:
        raise _malformed("payload is not valid claims") from None
    if now >= claims.exp:
        raise Unauthenticated("Bearer token has expired; sign in again.", code="TOKEN_EXPIRED")
    return claims
