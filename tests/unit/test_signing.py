from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from petcover import signing
from petcover.errors import Unauthenticated
from petcover.signing import KeyRecord

NOW = 1_700_000_000
SECRET = "s3cret-value-that-must-not-leak"
OLD_SECRET = "old-secret-also-must-not-leak"
BODY = b'{"pet":"Rex","plan":"basic"}'

KEYS = {
    "ck_new": KeyRecord(key_id="ck_new", secret=SECRET, owner_id="CH1", owner_kind="channel"),
    "ck_old": KeyRecord(key_id="ck_old", secret=OLD_SECRET, owner_id="CH1", owner_kind="channel"),
    "ck_gone": KeyRecord(
        key_id="ck_gone", secret="revoked-secret", owner_id="CH1", owner_kind="channel", status="revoked"
    ),
}


class NonceStore:
    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.calls: list[tuple[str, str, int]] = []

    def __call__(self, key_id: str, nonce: str, ttl: int) -> bool:
        self.calls.append((key_id, nonce, ttl))
        if (key_id, nonce) in self.seen:
            return False
        self.seen.add((key_id, nonce))
        return True


def _headers(key_id: str = "ck_new", secret: str = SECRET, **kw: object) -> dict[str, str]:
    args: dict[str, object] = {
        "method": "POST",
        "path": "/v1/policies",
        "query": {"b": "2", "a": "1"},
        "body": BODY,
        "now": NOW,
        "nonce": "nonce_0001",
    }
    args.update(kw)
    return signing.signed_headers(
        key_id,
        secret,
        str(args["method"]),
        str(args["path"]),
        args["query"],  # type: ignore[arg-type]
        args["body"],  # type: ignore[arg-type]
        now=int(args["now"]),  # type: ignore[call-overload]
        nonce=str(args["nonce"]),
    )


def _verify(headers: dict[str, str], *, nonces: NonceStore | None = None, **kw: object) -> KeyRecord:
    args: dict[str, object] = {
        "method": "POST",
        "path": "/v1/policies",
        "query": {"a": "1", "b": "2"},
        "body": BODY,
        "now": NOW,
    }
    args.update(kw)
    return signing.verify(
        headers,
        str(args["method"]),
        str(args["path"]),
        args["query"],  # type: ignore[arg-type]
        args["body"],  # type: ignore[arg-type]
        lookup_key=KEYS.get,
        remember_nonce=nonces if nonces is not None else NonceStore(),
        now=int(args["now"]),  # type: ignore[call-overload]
    )


def _code(headers: dict[str, str], **kw: object) -> str:
    with pytest.raises(Unauthenticated) as exc:
        _verify(headers, **kw)  # type: ignore[arg-type]
    assert SECRET not in exc.value.message
    assert OLD_SECRET not in exc.value.message
    assert SECRET not in json.dumps(exc.value.body())
    return exc.value.code


def test_canonical_string_format() -> None:
    canonical = signing.canonical_string(
        "post", "/v1/policies", {"z": "a b", "a": ["2", "1"]}, "1700000000", "nonce_0001", b"hello"
    )
    assert canonical.split("\n") == [
        "POST",
        "/v1/policies",
        "a=1&a=2&z=a%20b",
        "1700000000",
        "nonce_0001",
        hashlib.sha256(b"hello").hexdigest(),
    ]


def test_canonical_query_encodes_rfc3986_and_is_order_independent() -> None:
    mapping = signing.canonical_query({"q": "dog & cat/ü~", "a": "x", "B": ["2", "1"]})
    reordered = signing.canonical_query({"B": ["1", "2"], "a": "x", "q": "dog & cat/ü~"})
    from_string = signing.canonical_query("?q=dog+%26+cat%2F%C3%BC~&B=2&a=x&B=1")
    assert mapping == reordered == from_string == "B=1&B=2&a=x&q=dog%20%26%20cat%2F%C3%BC~"
    assert signing.canonical_query(None) == signing.canonical_query({}) == signing.canonical_query("") == ""


def test_round_trip_returns_key_record() -> None:
    nonces = NonceStore()
    record = _verify(_headers(), nonces=nonces)
    assert record.key_id == "ck_new"
    assert record.owner_id == "CH1"
    # TTL covers a timestamp up to one window in the future.
    assert nonces.calls == [("ck_new", "nonce_0001", 600)]


def test_headers_are_case_insensitive() -> None:
    lower = {k.lower(): v for k, v in _headers().items()}
    upper = {k.upper(): v for k, v in _headers(nonce="nonce_0002").items()}
    assert _verify(lower).key_id == "ck_new"
    assert _verify(upper).key_id == "ck_new"


def test_signature_header_is_lowercase_hex() -> None:
    sig = _headers()[signing.SIGNATURE_HEADER]
    assert len(sig) == 64
    assert sig == sig.lower()
    int(sig, 16)


def test_query_order_does_not_matter_for_verification() -> None:
    headers = _headers(query={"b": "2", "a": "1"})
    assert _verify(headers, query="b=2&a=1").key_id == "ck_new"


@pytest.mark.parametrize(
    "missing",
    [signing.KEY_ID_HEADER, signing.TIMESTAMP_HEADER, signing.NONCE_HEADER, signing.SIGNATURE_HEADER],
)
def test_missing_header(missing: str) -> None:
    headers = _headers()
    del headers[missing]
    assert _code(headers) == "MISSING_SIGNATURE"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (signing.NONCE_HEADER, "short"),
        (signing.NONCE_HEADER, "has space in it"),
        (signing.NONCE_HEADER, "x" * 65),
        (signing.TIMESTAMP_HEADER, "17e8"),
        (signing.SIGNATURE_HEADER, "ABCDEF" * 10 + "ABCD"),
        (signing.SIGNATURE_HEADER, "abc"),
        (signing.KEY_ID_HEADER, "key with space"),
    ],
)
def test_malformed_header(name: str, value: str) -> None:
    headers = _headers()
    headers[name] = value
    assert _code(headers) == "MISSING_SIGNATURE"


def test_stale_timestamp_both_directions() -> None:
    assert _code(_headers(now=NOW - 301)) == "STALE_TIMESTAMP"
    assert _code(_headers(now=NOW + 301)) == "STALE_TIMESTAMP"
    # exactly at the edge of the window is accepted
    assert _verify(_headers(now=NOW - 300)).key_id == "ck_new"


def test_stale_is_checked_before_key_lookup() -> None:
    assert _code(_headers(key_id="nobody", now=NOW - 1000)) == "STALE_TIMESTAMP"


def test_unknown_key() -> None:
    assert _code(_headers(key_id="nobody")) == "UNKNOWN_KEY"


def test_revoked_key() -> None:
    assert _code(_headers(key_id="ck_gone", secret="revoked-secret")) == "REVOKED_KEY"


def test_body_tamper_is_bad_signature() -> None:
    assert _code(_headers(), body=BODY.replace(b"basic", b"gold")) == "BAD_SIGNATURE"


@pytest.mark.parametrize(
    "change",
    [{"method": "PUT"}, {"path": "/v1/policies/P1"}, {"query": {"a": "1", "b": "3"}}, {"query": None}],
)
def test_any_signed_component_tamper_is_bad_signature(change: dict[str, object]) -> None:
    assert _code(_headers(), **change) == "BAD_SIGNATURE"


def test_wrong_secret_is_bad_signature() -> None:
    assert _code(_headers(secret="guess")) == "BAD_SIGNATURE"


def test_nonce_replay_rejected() -> None:
    nonces = NonceStore()
    headers = _headers()
    _verify(headers, nonces=nonces)
    assert _code(headers, nonces=nonces) == "REPLAYED_NONCE"


def test_bad_signature_does_not_burn_nonce() -> None:
    nonces = NonceStore()
    forged = _headers(secret="attacker")
    assert _code(forged, nonces=nonces) == "BAD_SIGNATURE"
    assert nonces.calls == []
    # the genuine request with that nonce still goes through
    assert _verify(_headers(), nonces=nonces).key_id == "ck_new"


def test_two_active_keys_during_rotation() -> None:
    nonces = NonceStore()
    assert _verify(_headers("ck_new", SECRET), nonces=nonces).key_id == "ck_new"
    assert _verify(_headers("ck_old", OLD_SECRET), nonces=nonces).key_id == "ck_old"
    # a key id paired with the other key's secret does not pass
    assert _code(_headers("ck_old", SECRET, nonce="nonce_0003"), nonces=nonces) == "BAD_SIGNATURE"


def test_signed_headers_generates_valid_fresh_nonces() -> None:
    a = signing.signed_headers("ck_new", SECRET, "GET", "/v1/x", None, b"", now=NOW)
    b = signing.signed_headers("ck_new", SECRET, "GET", "/v1/x", None, b"", now=NOW)
    assert a[signing.NONCE_HEADER] != b[signing.NONCE_HEADER]
    for h in (a, b):
        record = _verify(h, method="GET", path="/v1/x", query=None, body=b"")
        assert record.key_id == "ck_new"


def _explain(headers: dict[str, str], their: str | None = None, **kw: object) -> dict[str, object]:
    args: dict[str, object] = {
        "method": "POST",
        "path": "/v1/policies",
        "query": {"a": "1", "b": "2"},
        "body": BODY,
    }
    args.update(kw)
    return signing.explain(
        headers,
        str(args["method"]),
        str(args["path"]),
        args["query"],  # type: ignore[arg-type]
        args["body"],  # type: ignore[arg-type]
        lookup_key=KEYS.get,
        now=NOW,
        their_canonical=their,
    )


def test_explain_matching_request() -> None:
    headers = _headers()
    ours = signing.canonical_string("POST", "/v1/policies", {"a": "1", "b": "2"}, str(NOW), "nonce_0001", BODY)
    result = _explain(headers, their=ours)
    assert result["canonical_string"] == ours
    assert result["canonical_sha256"] == hashlib.sha256(ours.encode()).hexdigest()
    assert result["signature_matches"] is True
    assert result["timestamp_in_window"] is True
    assert result["key_status"] == "active"
    assert result["differing_components"] == []
    assert result["problems"] == []


def test_explain_reports_differing_component() -> None:
    # the partner hashed a different body than the one they sent
    headers = _headers(body=b"{}")
    their = signing.canonical_string("POST", "/v1/policies", {"b": "2", "a": "1"}, str(NOW), "nonce_0001", b"{}")
    result = _explain(headers, their=their)
    assert result["signature_matches"] is False
    assert result["differing_components"] == ["body_sha256"]

    their_path = their.replace("/v1/policies", "/policies").replace(
        hashlib.sha256(b"{}").hexdigest(), hashlib.sha256(BODY).hexdigest()
    )
    assert _explain(headers, their=their_path)["differing_components"] == ["path"]


def test_explain_short_canonical_and_stale_timestamp() -> None:
    result = _explain(_headers(now=NOW - 3600), their="POST\n/v1/policies")
    assert result["timestamp_in_window"] is False
    assert result["differing_components"] == ["query", "timestamp", "nonce", "body_sha256"]
    assert any("6 lines" in p for p in result["problems"])  # type: ignore[attr-defined]


def test_explain_never_leaks_secret_or_expected_signature() -> None:
    headers = _headers(secret="wrong-secret-xyz")
    ours = signing.canonical_string("POST", "/v1/policies", {"a": "1", "b": "2"}, str(NOW), "nonce_0001", BODY)
    expected_sig = hmac.new(SECRET.encode(), ours.encode(), hashlib.sha256).hexdigest()
    dumped = json.dumps(_explain(headers, their="garbage"))
    assert SECRET not in dumped
    assert expected_sig not in dumped
    assert 'signature_matches": false' in dumped
    # missing headers and unknown keys are reported, not raised
    result = _explain({signing.KEY_ID_HEADER: "nobody"})
    assert result["key_status"] == "unknown"
    assert result["signature_matches"] is False
    assert len(result["problems"]) >= 3  # type: ignore[arg-type]


def test_key_record_repr_hides_secret() -> None:
    assert SECRET not in repr(KEYS["ck_new"])


def test_webhook_round_trip_and_scheme() -> None:
    body = b'{"event":"policy.issued"}'
    headers = signing.webhook_headers([SECRET], body, event_id="evt_1", now=NOW)
    assert headers[signing.EVENT_ID_HEADER] == "evt_1"
    assert headers[signing.TIMESTAMP_HEADER] == str(NOW)
    expected = hmac.new(SECRET.encode(), f"{NOW}\nevt_1\n".encode() + body, hashlib.sha256).hexdigest()
    assert headers[signing.SIGNATURE_HEADER] == f"v1={expected}"
    lower = {k.lower(): v for k, v in headers.items()}
    assert signing.verify_webhook(SECRET, lower, body, now=NOW + 10) is True


def test_during_a_rotation_both_secrets_sign_and_either_verifies() -> None:
    body = b'{"event":"policy.issued"}'
    headers = signing.webhook_headers(["new-secret-0123456789", SECRET], body, event_id="evt_1", now=NOW)
    first, second = headers[signing.SIGNATURE_HEADER].split(" ")
    assert first.startswith("v1=") and second.startswith("v1=") and first != second
    assert signing.verify_webhook("new-secret-0123456789", headers, body, now=NOW) is True
    assert signing.verify_webhook(SECRET, headers, body, now=NOW) is True
    assert signing.verify_webhook("a-third-secret-000000", headers, body, now=NOW) is False
    unversioned = {**headers, signing.SIGNATURE_HEADER: first.removeprefix("v1=")}
    assert signing.verify_webhook("new-secret-0123456789", unversioned, body, now=NOW) is False


def test_webhook_rejections() -> None:
    body = b'{"event":"policy.issued"}'
    headers = signing.webhook_headers([SECRET], body, event_id="evt_1", now=NOW)
    assert signing.verify_webhook(SECRET, headers, body + b" ", now=NOW) is False
    assert signing.verify_webhook("other", headers, body, now=NOW) is False
    assert signing.verify_webhook(SECRET, headers, body, now=NOW + 301) is False
    assert signing.verify_webhook(SECRET, {**headers, signing.EVENT_ID_HEADER: "evt_2"}, body, now=NOW) is False
    assert signing.verify_webhook(SECRET, {signing.TIMESTAMP_HEADER: str(NOW)}, body, now=NOW) is False
    assert signing.verify_webhook(SECRET, {**headers, signing.SIGNATURE_HEADER: "é"}, body, now=NOW) is False
