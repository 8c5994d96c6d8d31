"""Insurer channels for tests: the loopback mock insurer, and an in-process fake with scripted faults."""

from __future__ import annotations

import json
import random
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from infra.mock_insurer import MockInsurer, serve
from petcover.outbound import HttpResult


@dataclass
class RunningMock:
    url: str
    mock: MockInsurer

    def control(self, path: str, body: dict[str, Any]) -> Any:
        req = urllib.request.Request(
            f"{self.url}/_mock/{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())


@contextmanager
def mock_insurer() -> Iterator[RunningMock]:
    """The mock insurer of ``make run`` on a free loopback port, for the length of the block."""
    server, mock = serve(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RunningMock(f"http://127.0.0.1:{server.server_address[1]}", mock)
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class FakeInsurer:
    """An insurer as the adapter's sender sees it, in-process: no sockets, no sleeping.

    ``timeout_share`` of underwrite calls get no answer; of those, ``late_share`` were issued
    anyway (the answer came after our timeout) and the rest never reached the insurer. Queries
    answer from the book and close keys they do not know, as docs/insurer-api.md says.
    """

    name: str
    timeout_share: float = 0.0
    late_share: float = 0.5
    reject_share: float = 0.0
    seed: int = 7
    book: dict[str, str] = field(default_factory=dict)  # idempotency key -> "issued" / "rejected"
    closed: set[str] = field(default_factory=set)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def answer(self, op: str, key: str) -> HttpResult:
        with self.lock:
            self.calls += 1
            if op == "query":
                if key in self.book:
                    return _ok(200, {"status": self.book[key], "policy_number": f"{self.name}-{key}"})
                self.closed.add(key)
                return _ok(404, {"status": "not_found"})
            if key in self.book:
                status = self.book[key]
                return _ok(
                    200 if status == "issued" else 422, {"status": status, "policy_number": f"{self.name}-{key}"}
                )
            if key in self.closed:
                return _ok(422, {"status": "rejected", "reason": "key closed"})
            roll = self.rng.random()
            if roll < self.timeout_share:
                if self.rng.random() < self.late_share:
                    self.book[key] = "issued"  # issued, but the answer never arrives in time
                return HttpResult(None, 3000, "TimeoutError: timed out")
            if roll < self.timeout_share + self.reject_share:
                self.book[key] = "rejected"
                return _ok(422, {"status": "rejected", "reason": "declined"})
            self.book[key] = "issued"
            return _ok(200, {"status": "issued", "policy_number": f"{self.name}-{key}"})


def _ok(status: int, body: dict[str, Any]) -> HttpResult:
    return HttpResult(status, 5, None if status < 300 else f"HTTP {status}", json.dumps(body).encode())


def fake_sender(insurers: Mapping[str, FakeInsurer]) -> Any:
    """A sender routing by URL host name: ``https://{insurer id}.insurer.test/{op}``."""

    def send(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResult:
        host = url.split("//", 1)[1].split(".", 1)[0]
        op = url.rsplit("/", 1)[1]
        return insurers[host].answer(op, headers["Idempotency-Key"])

    return send
