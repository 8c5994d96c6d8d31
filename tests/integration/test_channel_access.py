"""Catalogue over the ops API and the channel trust boundary, in-process against moto."""

import time

import pytest

from petcover import runtime, signing
from petcover.seed.products import PET_HEALTH
from tests.support import events
from tests.support.calls import call, handler_of, sign
from tests.support.fixtures import catalogue

QUOTE = {
    "product_code": "pet-health",
    "plan_code": "basic",
    "insured": {"insured_id": "pet-1", "species": "dog", "breed_size": "small", "age_months": 30, "region": "310115"},
}


@pytest.fixture
def shop(aws):
    return catalogue(runtime.ports(), ("shop-a", "shop-b"))


def test_ops_builds_the_catalogue_through_the_api(aws):
    status, body, _ = call(
        "CreateProductFunction", body=PET_HEALTH.model_dump(mode="json"), ops=("underwriter",), idem="p-1"
    )
    assert status == 201 and body["version"]["version"] == 1
    status, body, _ = call("PublishProductFunction", path={"code": "pet-health"}, body={}, ops=("underwriter",))
    assert status == 200 and body["head"]["published_version"] == 1
    status, body, _ = call(
        "AddChannelFunction",
        body={"id": "shop-a", "name": "Shop A", "callback_url": "https://shop-a.example/h"},
        ops=("sales",),
        idem="c1",
    )
    assert status == 201 and len(body["webhook_secret"]) >= 32  # shown once, to verify our webhooks
    status, body, _ = call(
        "CreateContractFunction",
        path={"channelId": "shop-a"},
        ops=("sales",),
        idem="k1",
        body={"product_code": "pet-health", "permissions": ["quote"], "effective_from": "2026-01-01"},
    )
    assert status == 201 and body["version"] == 1
    status, key, _ = call("IssueChannelKeyFunction", path={"channelId": "shop-a"}, ops=("sales",))
    assert status == 201 and key["secret"]
    status, listed, _ = call("ListChannelKeysFunction", path={"channelId": "shop-a"}, ops=("sales",))
    assert status == 200 and "secret" not in str(listed)
    status, body, _ = call("QuoteFunction", body=QUOTE, key=(key["key_id"], key["secret"]))
    assert status == 200, body
    lines = {line["dimension"]: line["factor"] for line in body["quote"]["lines"]}
    assert lines["region"] == "1.2"  # Shanghai
    assert body["quote"]["premium"] == "430.92"  # 399 x 1.2 (Shanghai) x 0.9 (small breed)


def test_role_outside_ones_own_is_403(aws):
    status, body, _ = call("CreateProductFunction", body=PET_HEALTH.model_dump(mode="json"), ops=("sales",), idem="x")
    assert status == 403 and body["error"]["code"] == "ROLE_REQUIRED"
    status, body, _ = call("ListProductsFunction", headers={"Authorization": "Bearer nope"})
    assert status == 401 and body["error"]["code"] == "TOKEN_MALFORMED"
    status, body, _ = call("ListProductsFunction")
    assert status == 401 and body["error"]["code"] == "TOKEN_MISSING"


def _quote_event(key_id: str, secret: str, **over: object) -> dict:
    ev = events.api("QuoteFunction", body=QUOTE)
    return sign(ev, key_id, secret, **over)  # type: ignore[arg-type]


def _code(resp: dict) -> str:
    import json

    return json.loads(resp["body"])["error"]["code"]


def test_every_signing_failure_has_its_own_code(shop):
    key_id, secret = shop["shop-a"]
    quote = handler_of("QuoteFunction")
    assert quote(_quote_event(key_id, secret), None)["statusCode"] == 200

    missing = events.api("QuoteFunction", body=QUOTE)
    assert _code(quote(missing, None)) == "MISSING_SIGNATURE"

    assert _code(quote(_quote_event(key_id, secret, now=int(time.time()) - 600), None)) == "STALE_TIMESTAMP"
    assert _code(quote(_quote_event("chk_unknown", secret), None)) == "UNKNOWN_KEY"
    assert _code(quote(_quote_event(key_id, "wrong-secret"), None)) == "BAD_SIGNATURE"

    tampered = _quote_event(key_id, secret)
    tampered["body"] = tampered["body"].replace("30", "31")
    assert _code(quote(tampered, None)) == "BAD_SIGNATURE"

    replay = _quote_event(key_id, secret)
    assert quote(replay, None)["statusCode"] == 200
    assert _code(quote(replay, None)) == "REPLAYED_NONCE"


def test_revoked_key_closed_channel_and_contract_permission(shop):
    from petcover import authentication
    from petcover.services import credentials

    p = runtime.ports()
    key_id, secret = shop["shop-a"]
    second = credentials.issue(p, "channel", "shop-a")  # rotation: both keys work
    quote = handler_of("QuoteFunction")
    assert quote(_quote_event(second.key_id, second.secret), None)["statusCode"] == 200
    path = {"channelId": "shop-a", "keyId": key_id}
    status, body, _ = call("RevokeChannelKeyFunction", path=path, ops=("sales",))
    assert status == 400 and body["error"]["details"][0]["field"] == "reason"
    status, _, _ = call("RevokeChannelKeyFunction", path=path, query={"reason": "key leaked"}, ops=("sales",))
    assert status == 200
    authentication.clear_cache()
    assert _code(quote(_quote_event(key_id, secret), None)) == "REVOKED_KEY"
    assert quote(_quote_event(second.key_id, second.secret), None)["statusCode"] == 200

    contract = {"channelId": "shop-a", "productCode": "pet-health"}
    status, _, _ = call("TerminateContractFunction", path=contract, body={}, ops=("sales",))
    assert status == 400
    status, _, _ = call("TerminateContractFunction", path=contract, body={"reason": "agreement ended"}, ops=("sales",))
    assert status == 200
    resp = quote(_quote_event(second.key_id, second.secret), None)
    assert resp["statusCode"] == 403 and _code(resp) == "CONTRACT_TERMINATED"

    status, _, _ = call("CloseChannelFunction", path={"channelId": "shop-a"}, body={"reason": "ok"}, ops=("sales",))
    assert status == 400  # a reason of at least three characters
    status, _, _ = call("CloseChannelFunction", path={"channelId": "shop-a"}, body={"reason": "off"}, ops=("sales",))
    assert status == 200
    authentication.clear_cache()
    resp = quote(_quote_event(second.key_id, second.secret), None)
    assert resp["statusCode"] == 403 and _code(resp) == "CHANNEL_CLOSED"


def test_rate_limit_answers_429_with_retry_after(aws):
    from tests.support.fixtures import channel_with_contracts, publish_seed_products

    p = runtime.ports()
    publish_seed_products(p)
    key_id, secret = channel_with_contracts(p, "tiny", rate_limit=2)
    quote = handler_of("QuoteFunction")
    statuses = []
    for _ in range(6):
        resp = quote(_quote_event(key_id, secret), None)
        statuses.append(resp["statusCode"])
        if resp["statusCode"] == 429:
            assert resp["headers"]["Retry-After"] == "1"
            assert _code(resp) == "RATE_LIMITED"
    assert 429 in statuses and statuses[0] == 200


def test_signature_self_check_names_the_differing_part(shop):
    key_id, secret = shop["shop-a"]
    body = '{"a":1}'
    headers = signing.signed_headers(key_id, secret, "POST", "/quotes", None, body.encode(), now=int(time.time()))
    theirs = signing.canonical_string(
        "POST", "/quote", None, headers["X-Pc-Timestamp"], headers["X-Pc-Nonce"], body.encode()
    )
    status, out, _ = call(
        "SignatureCheckFunction",
        body={"method": "POST", "path": "/quotes", "body": body, "headers": headers, "canonical": theirs},
    )
    assert status == 200
    assert out["signature_matches"] is True
    assert out["differing_components"] == ["path"]
    assert secret not in str(out)


def test_errors_have_one_shape(shop):
    key_id, secret = shop["shop-a"]
    ev = events.api("QuoteFunction", raw_body="{not json")
    resp = handler_of("QuoteFunction")(sign(ev, key_id, secret), None)
    assert resp["statusCode"] == 400 and _code(resp) == "MALFORMED_JSON"
    ev = events.api("QuoteFunction", body={**QUOTE, "plan_code": 7, "extra": True})
    resp = handler_of("QuoteFunction")(sign(ev, key_id, secret), None)
    import json

    err = json.loads(resp["body"])["error"]
    assert resp["statusCode"] == 400 and err["code"] == "VALIDATION_FAILED"
    assert {d["field"] for d in err["details"]} == {"plan_code", "extra"}
    ev = events.api("QuoteFunction", raw_body="x" * (256 * 1024 + 1))
    resp = handler_of("QuoteFunction")(sign(ev, key_id, secret), None)
    assert resp["statusCode"] == 413


def test_deeply_nested_json_and_bad_cursors_are_400_not_500(shop):
    key_id, secret = shop["shop-a"]
    ev = events.api("QuoteFunction", raw_body="[" * 50_000)
    resp = handler_of("QuoteFunction")(sign(ev, key_id, secret), None)
    assert resp["statusCode"] == 400 and _code(resp) == "MALFORMED_JSON"
    from petcover.errors import InvalidInput

    store = runtime.ports().store
    for cursor in ("!!!", "eyJhIjogMX0=", "\u00e9\u00e8"):  # not base64; base64 JSON that is not a key; not ASCII
        with pytest.raises(InvalidInput) as err:
            store.query("CHANNELS", index="gsi1", cursor=cursor)
        assert err.value.code == "INVALID_CURSOR"
