"""DynamoDB round trips per handler invocation, counted where every client makes its calls.

Counted at botocore's ``_make_api_call``, so the store (pynamodb), Powertools idempotency and the
signature checks are all seen, exactly as they would be on AWS. Off unless
``PETCOVER_ROUND_TRIPS=<file>`` is set; then every handler the tests invoke through
``tests.support.calls.handler_of`` records its calls, and the session writes them to that file
as JSON (``tests/bench/bench_round_trips.py`` runs the integration tests this way).

    PETCOVER_ROUND_TRIPS=/tmp/rt.json pytest tests/integration -p tests.support.round_trips
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import botocore.client

ENV = "PETCOVER_ROUND_TRIPS"
_local = threading.local()
_lock = threading.Lock()
_observed: dict[str, list[dict[str, int]]] = {}
_patched = False


def active() -> bool:
    return bool(os.environ.get(ENV))


def _install() -> None:
    global _patched
    if _patched:
        return
    original = botocore.client.BaseClient._make_api_call

    def counted(self: Any, operation_name: str, api_params: Any) -> Any:
        calls: Counter[str] | None = getattr(_local, "calls", None)
        if calls is not None and self.meta.service_model.service_name == "dynamodb":
            calls[operation_name] += 1
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    _patched = True


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """The DynamoDB calls this thread makes inside the block."""
    _install()
    outer = getattr(_local, "calls", None)
    _local.calls = Counter()
    try:
        yield _local.calls
    finally:
        inner, _local.calls = _local.calls, outer
        if outer is not None:
            outer.update(inner)


def succeeded(response: Any) -> bool:
    """An API answer in 2xx, or a consumer batch with no failed item."""
    if isinstance(response, dict) and "statusCode" in response:
        return 200 <= int(response["statusCode"]) < 300
    if isinstance(response, dict) and "batchItemFailures" in response:
        return not response["batchItemFailures"]
    return True


def wrap(function: str, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """The handler, recording its round trips per successful invocation when counting is on."""
    if not active():
        return handler

    def run(event: Any, context: Any) -> Any:
        with counting() as calls:
            response = handler(event, context)
        if succeeded(response):
            with _lock:
                _observed.setdefault(function, []).append(dict(calls))
        return response

    return run


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = os.environ.get(ENV)
    if path:
        with open(path, "w") as f:
            json.dump(_observed, f, indent=1, sort_keys=True)
