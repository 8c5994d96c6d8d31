"""A local insurer that implements docs/insurer-api.md, on loopback only, for ``make run`` and tests.

It verifies our signature (keys registered with ``POST /_mock/keys {"key_id", "secret"}``),
remembers every idempotency key it answered, and can be told how to behave:

    POST /_mock/mode {"mode": "answer", "delay_ms": 50}
        answer   issue (or accept a claim) after delay_ms
        reject   refuse (422, status rejected)
        timeout  take the call but never process it, and answer nothing for hang_ms
        late     issue at once, but answer only after hang_ms (the caller has timed out by then)
    POST /_mock/reset     forget every policy, closed key and key
    GET  /_mock/book      what it issued, refused and closed, by idempotency key
    GET  /_mock/health

A query for a key it never issued answers 404 ``not_found`` and closes the key: an underwrite
with a closed key is refused afterwards, which is what lets the platform pass such an order on.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from petcover import signing
from petcover.errors import Unauthenticated

MODES = ("answer", "reject", "timeout", "late")


class MockInsurer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mode = "answer"
        self.delay_ms = 50
        self.hang_ms = 10_000
        self.keys: dict[str, str] = {}
        self.book: dict[str, dict[str, Any]] = {}  # idempotency key -> the answer given
        self.closed: set[str] = set()
        self.nonces: set[tuple[str, str]] = set()
        self.calls = 0

    def set_mode(self, body: dict[str, Any]) -> dict[str, Any]:
        mode = str(body.get("mode", self.mode))
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        with self.lock:
            self.mode = mode
            self.delay_ms = int(body.get("delay_ms", self.delay_ms))
            self.hang_ms = int(body.get("hang_ms", self.hang_ms))
        return {"mode": self.mode, "delay_ms": self.delay_ms, "hang_ms": self.hang_ms}

    def verify(self, headers: dict[str, str], path: str, body: bytes) -> None:
        def lookup(key_id: str) -> signing.KeyRecord | None:
            secret = self.keys.get(key_id)
            if secret is None:
                return None
            return signing.KeyRecord(key_id=key_id, secret=secret, owner_id="platform", owner_kind="insurer")

        def remember(key_id: str, nonce: str, ttl: int) -> bool:
            with self.lock:
                if (key_id, nonce) in self.nonces:
                    return False
                self.nonces.add((key_id, nonce))
                return True

        signing.verify(
            headers, "POST", path, None, body, lookup_key=lookup, remember_nonce=remember, now=int(time.time())
        )

    def underwrite(self, key: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        """(status, answer, seconds to wait before answering)."""
        with self.lock:
            if key in self.book:
                return 200 if self.book[key]["status"] == "issued" else 422, self.book[key], 0
            if key in self.closed:
                return 422, {"status": "rejected", "reason": "this key was closed by a query"}, 0
            mode = self.mode
            if mode == "timeout":
                return 504, {"status": "unknown"}, self.hang_ms / 1000
            if mode == "reject":
                self.book[key] = {"status": "rejected", "reason": "declined by the mock insurer"}
                return 422, self.book[key], self.delay_ms / 1000
            number = f"MI{uuid.uuid4().hex[:12].upper()}"
            self.book[key] = {"status": "issued", "policy_number": number, "premium": payload.get("premium")}
            wait = self.hang_ms if mode == "late" else self.delay_ms
            return 200, self.book[key], wait / 1000

    def query(self, key: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if key in self.book:
                return 200, self.book[key]
            self.closed.add(key)
            return 404, {"status": "not_found"}

    def claim(self, key: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        with self.lock:
            claim_key = f"claim:{key}"
            if claim_key in self.book:
                return 200, self.book[claim_key], 0
            if self.mode == "timeout":
                return 504, {"status": "unknown"}, self.hang_ms / 1000
            if self.mode == "reject":
                return 422, {"status": "rejected", "reason": "declined by the mock insurer"}, self.delay_ms / 1000
            self.book[claim_key] = {"status": "accepted", "claim_reference": f"MC{uuid.uuid4().hex[:10].upper()}"}
            wait = self.hang_ms if self.mode == "late" else self.delay_ms
            return 200, self.book[claim_key], wait / 1000

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"mode": self.mode, "book": dict(self.book), "closed": sorted(self.closed), "calls": self.calls}


def make_handler(mock: MockInsurer) -> type[BaseHTTPRequestHandler]:
    """Long because it is one request handler class: the insurer API and the control calls."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            return

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the caller gave up (timed out) before the answer: that is the point of "late"

        def do_GET(self) -> None:
            if self.path.startswith("/_mock/book"):
                self._reply(200, mock.snapshot())
            elif self.path.startswith("/_mock/health"):
                self._reply(200, {"ok": True, "mode": mock.mode})
            else:
                self._reply(404, {"error": "not found"})

        def _control(self, body: bytes) -> None:
            data = json.loads(body or b"{}")
            if self.path.startswith("/_mock/mode"):
                try:
                    self._reply(200, mock.set_mode(data))
                except ValueError as exc:
                    self._reply(400, {"error": str(exc)})
            elif self.path.startswith("/_mock/keys"):
                mock.keys[str(data["key_id"])] = str(data["secret"])
                self._reply(200, {"keys": sorted(mock.keys)})
            else:  # /_mock/reset
                with mock.lock:
                    mock.book.clear()
                    mock.closed.clear()
                self._reply(200, {"reset": True})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith("/_mock/"):
                self._control(body)
                return
            headers = {k: v for k, v in self.headers.items()}
            try:
                mock.verify(headers, self.path, body)
            except Unauthenticated as exc:
                self._reply(401, {"status": "rejected", "reason": exc.message, "code": exc.code})
                return
            key = self.headers.get("Idempotency-Key") or ""
            if not key:
                self._reply(400, {"status": "rejected", "reason": "Idempotency-Key is required"})
                return
            with mock.lock:
                mock.calls += 1
            payload = json.loads(body or b"{}")
            if self.path.endswith("/underwrite"):
                status, answer, wait = mock.underwrite(key, payload)
            elif self.path.endswith("/query"):
                (status, answer), wait = mock.query(key), 0.0
            elif self.path.endswith("/claims"):
                status, answer, wait = mock.claim(key, payload)
            else:
                self._reply(404, {"error": "not found"})
                return
            if wait:
                time.sleep(wait)
            self._reply(status, answer)

    return Handler


def serve(port: int) -> tuple[ThreadingHTTPServer, MockInsurer]:
    mock = MockInsurer()
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(mock))
    server.daemon_threads = True
    return server, mock


if __name__ == "__main__":
    srv, _ = serve(int(sys.argv[1]))
    srv.serve_forever()
