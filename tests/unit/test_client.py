from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from petcover import signing
from petcover.client import OpsClient, PetcoverClient, Response
from petcover.errors import Unauthenticated
from petcover.signing import KeyRecord

PREFIX = "/restapis/abc/v1/_user_request_"
KEY = KeyRecord(key_id="ck_test", secret="client-secret", owner_id="CH1", owner_kind="channel")


class _Handler(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]] = []
    nonces: set[tuple[str, str]] = set()

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _handle(self) -> None:
        split = urlsplit(self.path)
        api_path = split.path.removeprefix(PREFIX)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        query = parse_qs(split.query, keep_blank_values=True)
        record = {
            "method": self.command,
            "path": api_path,
            "raw_path": split.path,
            "query": query,
            "headers": headers,
            "body": body,
        }
        _Handler.seen.append(record)

        status = 200
        out: dict[str, Any] = {"ok": True}
        if api_path.startswith("/ops"):
            out = {"auth": headers.get("Authorization")}
        else:

            def remember(key_id: str, nonce: str, ttl: int) -> bool:
                if (key_id, nonce) in _Handler.nonces:
                    return False
                _Handler.nonces.add((key_id, nonce))
                return True

            try:
                signing.verify(
                    headers,
                    self.command,
                    api_path,
                    query,
                    body,
                    lookup_key={KEY.key_id: KEY}.get,
                    remember_nonce=remember,
                    now=int(time.time()),
                )
            except Unauthenticated as err:
                status, out = 401, err.body()
            else:
                if api_path.startswith("/missing"):
                    status, out = 404, {"error": {"code": "NOT_FOUND", "message": "no such thing"}}
                elif api_path.startswith("/boom"):
                    status, out = 500, {"error": {"code": "INTERNAL", "message": "oops"}}
                elif self.command == "POST":
                    status = 201
        payload = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Request-Id", "req-1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.seen = []
    _Handler.nonces = set()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{PREFIX}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_signed_post_is_accepted_by_verify(server: str) -> None:
    client = PetcoverClient(server, KEY.key_id, KEY.secret)
    resp = client.post(
        "/policies",
        {"pet": "Rex", "note": "ü & co"},
        query={"dry_run": "false", "tag": ["b", "a b"]},
        idempotency_key="idem-123",
    )
    assert resp.status == 201, resp.json
    assert resp.json == {"ok": True}
    assert resp.header("x-request-id") == "req-1"
    assert resp.headers["content-type"] == "application/json"

    seen = _Handler.seen[-1]
    assert seen["raw_path"] == PREFIX + "/policies"
    assert seen["query"] == {"dry_run": ["false"], "tag": ["a b", "b"]}
    assert seen["headers"]["Idempotency-Key"] == "idem-123"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert json.loads(seen["body"]) == {"pet": "Rex", "note": "ü & co"}
    for name in (
        signing.KEY_ID_HEADER,
        signing.TIMESTAMP_HEADER,
        signing.NONCE_HEADER,
        signing.SIGNATURE_HEADER,
    ):
        assert name in seen["headers"]
    assert "client-secret" not in json.dumps({k: v for k, v in seen["headers"].items()})


def test_every_verb_is_signed_with_fresh_nonce(server: str) -> None:
    client = PetcoverClient(server, KEY.key_id, KEY.secret)
    assert client.get("/policies/P1", query={"expand": "claims"}).status == 200
    assert client.put("/policies/P1", {"x": 1}).status == 200
    assert client.patch("/policies/P1", {"x": 2}).status == 200
    assert client.delete("/policies/P1", idempotency_key="d1").status == 200
    assert client.request("get", "/policies/P1").status == 200
    nonces = {s["headers"][signing.NONCE_HEADER] for s in _Handler.seen}
    assert len(nonces) == 5


def test_error_statuses_are_returned_not_raised(server: str) -> None:
    client = PetcoverClient(server, KEY.key_id, KEY.secret)
    missing = client.get("/missing/1")
    assert isinstance(missing, Response)
    assert missing.status == 404
    assert not missing.ok
    assert missing.json == {"error": {"code": "NOT_FOUND", "message": "no such thing"}}
    assert client.post("/boom").status == 500


def test_wrong_secret_gets_401_bad_signature(server: str) -> None:
    resp = PetcoverClient(server, KEY.key_id, "wrong").get("/policies")
    assert resp.status == 401
    assert resp.json["error"]["code"] == "BAD_SIGNATURE"


def test_client_clock_is_used_for_timestamp(server: str) -> None:
    resp = PetcoverClient(server, KEY.key_id, KEY.secret, clock=lambda: time.time() - 3600).get("/policies")
    assert resp.status == 401
    assert resp.json["error"]["code"] == "STALE_TIMESTAMP"


def test_ops_client_sends_bearer(server: str) -> None:
    resp = OpsClient(server, "tok.en.value").get("/ops/summary")
    assert resp.status == 200
    assert resp.json == {"auth": "Bearer tok.en.value"}
    assert signing.SIGNATURE_HEADER not in _Handler.seen[-1]["headers"]


def test_path_must_not_carry_query() -> None:
    client = PetcoverClient("http://127.0.0.1:1", KEY.key_id, KEY.secret)
    with pytest.raises(ValueError):
        client.get("/policies?x=1")
    with pytest.raises(ValueError):
        client.get("policies")
