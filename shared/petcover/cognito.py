"""Portal sign-in: who a provider's or an insurer's staff member is, from an ID token.

On AWS the portal signs in with the staff user pool (Cognito hosted UI); a portal user belongs to
exactly one group named ``provider:<partner id>`` or ``insurer:<partner id>``, which scopes every
portal call to that partner. The ID token is an RS256 JWT checked with PyJWT against the pool's
JWKS (fetched once per container, on the first portal call, and again when a token names a key
it has not seen): issuer, audience (the console's app client), ``token_use == "id"`` and expiry.

The local stage has no Cognito: demo tokens of the same shape are HS256-signed with the ops token
secret (as the CLI's ops tokens are), with the local issuer and audience below. A token of one
kind is never accepted where the other is configured.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from petcover.errors import Forbidden, Unauthenticated

PortalKind = Literal["provider", "insurer"]
LOCAL_ISSUER = "petcover-local"
LOCAL_AUDIENCE = "petcover-portal"
GROUP = re.compile(r"^(provider|insurer):([A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")
_MAX_TOKEN_CHARS = 8192
_LEEWAY_SECONDS = 0


@dataclass(frozen=True)
class PortalClaims:
    sub: str
    kind: PortalKind
    partner_id: str
    exp: int
    email: str | None = None


@dataclass(frozen=True)
class Pool:
    """The user pool whose ID tokens are accepted (AWS): its region, id and the app client."""

    region: str
    pool_id: str
    client_id: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"


Fetch = Callable[[str], dict[str, Any]]


def _fetch_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


class Jwks:
    """The pool's signing keys, loaded lazily and refreshed when a token names an unknown key id."""

    def __init__(self, url: str, fetch: Fetch = _fetch_json) -> None:
        self.url = url
        self._fetch = fetch
        self._keys: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Any]:
        doc = self._fetch(self.url)
        return {k["kid"]: jwt.PyJWK(k, algorithm="RS256").key for k in doc.get("keys", []) if k.get("kid")}

    def key(self, kid: str) -> Any:
        with self._lock:
            if self._keys is None or kid not in self._keys:
                try:
                    self._keys = self._load()
                except Exception:  # the pool is unreachable: refuse, never accept unchecked
                    raise Unauthenticated(
                        "Sign-in keys could not be loaded; try again.", code="TOKEN_KEYS_UNAVAILABLE"
                    ) from None
            found = self._keys.get(kid)
        if found is None:
            raise Unauthenticated("The token was signed by an unknown key.", code="TOKEN_BAD_SIGNATURE")
        return found


_jwks: dict[str, Jwks] = {}


def jwks_for(pool: Pool, fetch: Fetch = _fetch_json) -> Jwks:
    """One key set per pool per container (lazily: nothing is fetched until a token arrives)."""
    if pool.jwks_url not in _jwks:
        _jwks[pool.jwks_url] = Jwks(pool.jwks_url, fetch)
    return _jwks[pool.jwks_url]


def mint_demo(
    secret: str, sub: str, kind: PortalKind, partner_id: str, *, now: int, ttl_seconds: int = 8 * 3600
) -> str:
    """A local demo ID token for a portal user of ``partner_id`` (the local stage's sign-in link)."""
    if not secret or not sub or not GROUP.match(f"{kind}:{partner_id}"):
        raise ValueError("a secret, a subject and a valid partner id are required")
    payload = {
        "sub": sub,
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "token_use": "id",
        "cognito:groups": [f"{kind}:{partner_id}"],
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def _decode(token: str, key: Any, algorithm: str, issuer: str, audience: str, now: int) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            options={"require": ["sub", "exp", "iss", "aud"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidAudienceError:
        raise Unauthenticated("The token was issued for another application.", code="TOKEN_WRONG_AUDIENCE") from None
    except jwt.InvalidIssuerError:
        raise Unauthenticated("The token was issued by another sign-in.", code="TOKEN_WRONG_AUDIENCE") from None
    except jwt.InvalidSignatureError:
        raise Unauthenticated("The token's signature is invalid.", code="TOKEN_BAD_SIGNATURE") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("The token is malformed.", code="TOKEN_MALFORMED") from None
    if not isinstance(claims.get("exp"), int) or now >= claims["exp"]:
        raise Unauthenticated("The sign-in has expired; sign in again.", code="TOKEN_EXPIRED")
    if claims.get("token_use") != "id":
        raise Unauthenticated("An ID token is required.", code="TOKEN_WRONG_AUDIENCE")
    return claims


def _scope(claims: dict[str, Any]) -> PortalClaims:
    groups = [g for g in claims.get("cognito:groups") or [] if isinstance(g, str) and GROUP.match(g)]
    if len(groups) != 1:
        raise Forbidden(
            "This user is not a member of exactly one provider or insurer group.", code="PORTAL_SCOPE_MISSING"
        )
    match = GROUP.match(groups[0])
    assert match is not None
    kind: PortalKind = "provider" if match.group(1) == "provider" else "insurer"
    email = claims.get("email")
    return PortalClaims(str(claims["sub"]), kind, match.group(2), int(claims["exp"]), str(email) if email else None)


def verify(token: str, *, now: int, pool: Pool | None, local_secret: str, keys: Jwks | None = None) -> PortalClaims:
    """The portal user a bearer token names; Unauthenticated (401) or Forbidden (403, no scope)."""
    if not token or len(token) > _MAX_TOKEN_CHARS or token.count(".") != 2:
        raise Unauthenticated("The token is malformed.", code="TOKEN_MALFORMED")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise Unauthenticated("The token is malformed.", code="TOKEN_MALFORMED") from None
    if pool is not None:
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise Unauthenticated("Only the user pool's RS256 tokens are accepted.", code="TOKEN_MALFORMED")
        key = (keys or jwks_for(pool)).key(header["kid"])
        claims = _decode(token, key, "RS256", pool.issuer, pool.client_id, now)
    else:
        if header.get("alg") != "HS256":
            raise Unauthenticated("Only HS256 demo tokens are accepted locally.", code="TOKEN_MALFORMED")
        if not local_secret:
            raise Unauthenticated("Portal sign-in is not configured.", code="TOKEN_BAD_SIGNATURE")
        claims = _decode(token, local_secret, "HS256", LOCAL_ISSUER, LOCAL_AUDIENCE, now)
    return _scope(claims)
