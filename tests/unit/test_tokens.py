from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from petcover import tokens
from petcover.errors import Unauthenticated

SECRET = "ops-token-secret-do-not-leak"
NOW = 1_700_000_000


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _code(token: str, *, secret: str = SECRET, now: int = NOW) -> str:
    with pytest.raises(Unauthenticated) as exc:
        tokens.verify(secret, token, now=now)
    assert SECRET not in exc.value.message
    return exc.value.code


def test_round_trip() -> None:
    token = tokens.mint(SECRET, "alice", ["finance", "service"], now=NOW, ttl_seconds=60, partner_id="CH1")
    claims = tokens.verify(SECRET, token, now=NOW + 59)
    assert claims.sub == "alice"
    assert claims.roles == ["finance", "service"]
    assert claims.iat == NOW
    assert claims.exp == NOW + 60
    assert claims.partner_id == "CH1"


def test_compact_jwt_shape() -> None:
    token = tokens.mint(SECRET, "bob", ["ops"], now=NOW)
    header, payload, sig = token.split(".")
    assert "=" not in token
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "typ": "JWT"}
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert body == {"sub": "bob", "roles": ["ops"], "iat": NOW, "exp": NOW + 3600}
    assert len(base64.urlsafe_b64decode(sig + "=")) == 32


def test_expired() -> None:
    token = tokens.mint(SECRET, "alice", ["sales"], now=NOW, ttl_seconds=60)
    assert _code(token, now=NOW + 60) == "TOKEN_EXPIRED"


def test_bad_signature() -> None:
    token = tokens.mint(SECRET, "alice", ["sales"], now=NOW)
    assert _code(token, secret="other-secret") == "TOKEN_BAD_SIGNATURE"


def test_tampered_payload_is_bad_signature() -> None:
    header, _, sig = tokens.mint(SECRET, "alice", ["sales"], now=NOW).split(".")
    forged = _b64({"sub": "alice", "roles": ["admin"], "iat": NOW, "exp": NOW + 3600})
    assert _code(f"{header}.{forged}.{sig}") == "TOKEN_BAD_SIGNATURE"


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c.d", "!!!.e30.xx", "x" * 9000],
)
def test_malformed(token: str) -> None:
    assert _code(token) == "TOKEN_MALFORMED"


def test_alg_none_is_refused() -> None:
    payload = _b64({"sub": "eve", "roles": ["admin"], "iat": NOW, "exp": NOW + 3600})
    assert _code(f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.") == "TOKEN_MALFORMED"


def test_signed_but_invalid_claims_is_malformed() -> None:
    # correctly signed, but the payload lacks required claims
    token = tokens.mint(SECRET, "alice", ["sales"], now=NOW)
    header = token.split(".")[0]
    payload = _b64({"sub": "alice"})
    sig = hmac.new(SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    sig_b64 = base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
    assert _code(f"{header}.{payload}.{sig_b64}") == "TOKEN_MALFORMED"


def test_mint_rejects_unknown_role_and_bad_args() -> None:
    with pytest.raises(ValueError):
        tokens.mint(SECRET, "alice", ["superuser"], now=NOW)
    with pytest.raises(ValueError):
        tokens.mint(SECRET, "", ["ops"], now=NOW)
    with pytest.raises(ValueError):
        tokens.mint("", "alice", ["ops"], now=NOW)
    with pytest.raises(ValueError):
        tokens.mint(SECRET, "alice", ["ops"], now=NOW, ttl_seconds=0)


def test_roles_and_has_role() -> None:
    assert tokens.ROLES == ("underwriter", "sales", "finance", "service", "ops", "admin")
    finance = tokens.verify(SECRET, tokens.mint(SECRET, "f", ["finance"], now=NOW), now=NOW)
    admin = tokens.verify(SECRET, tokens.mint(SECRET, "a", ["admin"], now=NOW), now=NOW)
    assert tokens.has_role(finance, "finance", "ops") is True
    assert tokens.has_role(finance, "underwriter") is False
    assert tokens.has_role(finance) is False
    assert tokens.has_role(admin, "underwriter") is True


# Minted by the standard-library implementation this module had before PyJWT.
EARLIER_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJleHAiOjE3MDAwMDAwNjAsImlhdCI6MTcwMDAwMDAwMCwicGFydG5lcl9pZCI6IkNIMSIsInJvbGVzIjpbImZpbmFuY2UiLCJzZXJ2aWNlIl0s"
    "InN1YiI6ImFsaWNlIn0.nYxHzXg7yjAPBaEtnkfBxGg6xelviNc0c29Xfk-os6E"
)


def test_tokens_minted_earlier_still_verify_and_are_minted_byte_for_byte() -> None:
    assert tokens.verify(SECRET, EARLIER_TOKEN, now=NOW).partner_id == "CH1"
    assert tokens.mint(SECRET, "alice", ["finance", "service"], now=NOW, ttl_seconds=60, partner_id="CH1") == (
        EARLIER_TOKEN
    )


def _signed(header: str, payload: str) -> str:
    sig = hmac.new(SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"


@pytest.mark.parametrize(
    ("header", "payload", "reason"),
    [
        ({"alg": "HS256", "typ": "JWT"}, "bm90IGpzb24", "payload is not valid claims"),
        ({"alg": "HS256", "typ": "JWT"}, _b64({"sub": "a", "roles": "admin", "iat": NOW, "exp": NOW + 9}), "claims"),
        ({"alg": "HS512", "typ": "JWT"}, _b64({"sub": "a", "roles": [], "iat": NOW, "exp": NOW + 9}), "HS256"),
        ({"typ": "JWT"}, _b64({"sub": "a", "roles": [], "iat": NOW, "exp": NOW + 9}), "HS256"),
    ],
)
def test_signed_but_refused_tokens_say_why(header: dict[str, object], payload: str, reason: str) -> None:
    with pytest.raises(Unauthenticated) as exc:
        tokens.verify(SECRET, _signed(_b64(header), payload), now=NOW)
    assert exc.value.code == "TOKEN_MALFORMED"
    assert reason in exc.value.message


def test_expiry_uses_the_callers_clock_not_the_machines() -> None:
    token = tokens.mint(SECRET, "alice", ["sales"], now=NOW, ttl_seconds=60)
    assert tokens.verify(SECRET, token, now=NOW + 59).sub == "alice"  # NOW is in 2023: long past
    assert _code(token, now=NOW + 60) == "TOKEN_EXPIRED"
