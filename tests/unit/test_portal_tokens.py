"""Portal sign-in tokens: Cognito ID tokens (RS256, the pool's JWKS) and local demo tokens (HS256)."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from petcover import cognito
from petcover.errors import Forbidden, Unauthenticated

NOW = 1_800_000_000
SECRET = "local-secret"
POOL = cognito.Pool("ap-east-1", "ap-east-1_Pool1", "console-client")


def _key() -> tuple[Any, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return private, {**public, "kid": "k1", "alg": "RS256", "use": "sig"}


PRIVATE, JWK = _key()
OTHER_PRIVATE, _ = _key()


def id_token(private: Any = PRIVATE, kid: str = "k1", **over: Any) -> str:
    claims = {
        "sub": "u-1",
        "iss": POOL.issuer,
        "aud": POOL.client_id,
        "token_use": "id",
        "cognito:groups": ["provider:clinic-a"],
        "email": "staff@clinic-a.example",
        "iat": NOW,
        "exp": NOW + 3600,
    }
    claims.update(over)
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


class Fetches:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str) -> dict[str, Any]:
        self.urls.append(url)
        return {"keys": [JWK]}


def verify_pool(token: str, fetch: Fetches | None = None) -> cognito.PortalClaims:
    keys = cognito.Jwks(POOL.jwks_url, fetch or Fetches())
    return cognito.verify(token, now=NOW, pool=POOL, local_secret=SECRET, keys=keys)


def refused(code: str, call: Any) -> None:
    with pytest.raises((Unauthenticated, Forbidden)) as err:
        call()
    assert err.value.code == code


def test_a_cognito_id_token_names_the_provider_of_the_user_s_group():
    fetch = Fetches()
    c = verify_pool(id_token(), fetch)
    assert (c.sub, c.kind, c.partner_id, c.email) == ("u-1", "provider", "clinic-a", "staff@clinic-a.example")
    assert fetch.urls == ["https://cognito-idp.ap-east-1.amazonaws.com/ap-east-1_Pool1/.well-known/jwks.json"]


def test_the_key_set_is_loaded_once_lazily_and_again_only_for_an_unknown_key_id():
    fetch = Fetches()
    keys = cognito.Jwks(POOL.jwks_url, fetch)
    assert fetch.urls == []  # nothing before the first token
    for _ in range(3):
        cognito.verify(id_token(), now=NOW, pool=POOL, local_secret=SECRET, keys=keys)
    assert len(fetch.urls) == 1
    refused(
        "TOKEN_BAD_SIGNATURE",
        lambda: cognito.verify(id_token(kid="k9"), now=NOW, pool=POOL, local_secret="", keys=keys),
    )
    assert len(fetch.urls) == 2


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (lambda: id_token(exp=NOW - 1), "TOKEN_EXPIRED"),
        (lambda: id_token(exp=NOW), "TOKEN_EXPIRED"),
        (lambda: id_token(OTHER_PRIVATE), "TOKEN_BAD_SIGNATURE"),  # forged: another key, same kid
        (lambda: id_token(aud="another-client"), "TOKEN_WRONG_AUDIENCE"),
        (lambda: id_token(iss="https://cognito-idp.ap-east-1.amazonaws.com/other"), "TOKEN_WRONG_AUDIENCE"),
        (lambda: id_token(token_use="access"), "TOKEN_WRONG_AUDIENCE"),
        (lambda: id_token(**{"cognito:groups": []}), "PORTAL_SCOPE_MISSING"),
        (lambda: id_token(**{"cognito:groups": ["provider:a", "provider:b"]}), "PORTAL_SCOPE_MISSING"),
        (lambda: id_token(**{"cognito:groups": ["admin"]}), "PORTAL_SCOPE_MISSING"),
        (lambda: cognito.mint_demo(SECRET, "u", "provider", "clinic-a", now=NOW), "TOKEN_MALFORMED"),  # HS256 on AWS
        (lambda: "not-a-token", "TOKEN_MALFORMED"),
    ],
    ids=[
        "expired",
        "expires-now",
        "forged",
        "wrong-audience",
        "wrong-issuer",
        "access-token",
        "no-group",
        "two-groups",
        "staff-group",
        "demo-token-on-aws",
        "garbage",
    ],
)
def test_pool_tokens_are_refused_when_expired_forged_or_for_another_audience(token, code):
    refused(code, lambda: verify_pool(token()))


def test_an_unreachable_key_set_refuses_rather_than_accepts():
    def down(url: str) -> dict[str, Any]:
        raise OSError("no route")

    keys = cognito.Jwks(POOL.jwks_url, down)
    refused(
        "TOKEN_KEYS_UNAVAILABLE", lambda: cognito.verify(id_token(), now=NOW, pool=POOL, local_secret="", keys=keys)
    )


def test_local_demo_tokens_carry_the_partner_and_are_checked_like_pool_tokens():
    token = cognito.mint_demo(SECRET, "demo", "insurer", "insurer-x", now=NOW, ttl_seconds=60)
    c = cognito.verify(token, now=NOW + 59, pool=None, local_secret=SECRET)
    assert (c.kind, c.partner_id) == ("insurer", "insurer-x")
    refused("TOKEN_EXPIRED", lambda: cognito.verify(token, now=NOW + 60, pool=None, local_secret=SECRET))
    refused("TOKEN_BAD_SIGNATURE", lambda: cognito.verify(token, now=NOW, pool=None, local_secret="other"))
    claims = {"sub": "demo", "iss": cognito.LOCAL_ISSUER, "aud": "petcover-ops", "token_use": "id"}
    wrong_aud = jwt.encode({**claims, "cognito:groups": ["provider:clinic-a"], "exp": NOW + 60}, SECRET)
    refused("TOKEN_WRONG_AUDIENCE", lambda: cognito.verify(wrong_aud, now=NOW, pool=None, local_secret=SECRET))
    refused("TOKEN_MALFORMED", lambda: cognito.verify(id_token(), now=NOW, pool=None, local_secret=SECRET))  # RS256
    unsigned = jwt.encode({"sub": "x"}, None, algorithm="none")
    refused("TOKEN_MALFORMED", lambda: cognito.verify(unsigned, now=NOW, pool=None, local_secret=SECRET))


def test_demo_tokens_are_minted_only_for_a_valid_partner_id():
    with pytest.raises(ValueError):
        cognito.mint_demo(SECRET, "demo", "provider", "bad id with spaces", now=int(time.time()))
    with pytest.raises(ValueError):
        cognito.mint_demo("", "demo", "provider", "clinic-a", now=int(time.time()))
