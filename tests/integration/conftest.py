"""Fixtures the integration tests share."""

from __future__ import annotations

import threading
from typing import Any

import pytest


@pytest.fixture
def atomic_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each DynamoDB request atomic, as the service makes it: moto's in-process backend is not
    thread-safe (a transaction reads tables another thread is writing), so its request handler runs
    under one lock. Requests of the racing threads still interleave freely between calls, which is
    where the races of read-then-conditional-write live."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    original = DynamoHandler.call_action

    def one_at_a_time(self: Any) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", one_at_a_time)
