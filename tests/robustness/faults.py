"""Fault injection for integration tests (moto, in-process).

``DynamoFaults``  answers chosen DynamoDB calls with a throttling error (or a cancelled
                  transaction) *below* botocore's retry handler, at moto's HTTP stub: the SDK sees
                  a real 400 response, retries it with its own backoff, and the store adapter
                  sees only what is left once retries are exhausted. Backoff sleeps are recorded
                  (and skipped) so a test can prove there was backoff without waiting for it.
``Killed``        a BaseException: the handler's ``except Exception`` cannot catch it, so raising
                  it after a state write models the process dying at that point.
``crash_after``   wraps a method so the Nth call completes and then the "process dies".
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

THROTTLE = "ProvisionedThroughputExceededException"


class Killed(BaseException):
    """The Lambda process died here (not an error the handler could catch)."""


@dataclass
class Rule:
    operation: str  # e.g. "TransactWriteItems", "GetItem"
    table: str | None  # a substring of the table name; None: any table
    times: int | None  # how many matching calls fail; None: all of them
    code: str = THROTTLE
    cancellation_reasons: list[str] | None = None  # TransactionCanceledException reasons
    hits: int = 0


@dataclass
class DynamoFaults:
    rules: list[Rule] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)  # every DynamoDB call seen, by operation
    injected: Counter[str] = field(default_factory=Counter)
    sleeps: list[float] = field(default_factory=list)  # backoff the SDK asked for between attempts

    def throttle(
        self, operation: str, *, table: str | None = None, times: int | None = None, code: str = THROTTLE
    ) -> Rule:
        rule = Rule(operation, table, times, code)
        self.rules.append(rule)
        return rule

    def cancel_transaction(self, reasons: list[str], *, table: str | None = None, times: int | None = None) -> Rule:
        rule = Rule("TransactWriteItems", table, times, "TransactionCanceledException", reasons)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    @staticmethod
    def _tables(body: dict[str, Any]) -> list[str]:
        names = [body["TableName"]] if "TableName" in body else []
        for item in body.get("TransactItems", []):
            for op in item.values():
                if isinstance(op, dict) and "TableName" in op:
                    names.append(op["TableName"])
        return names

    def answer(self, request: Any) -> tuple[int, dict[str, str], bytes] | None:
        target = request.headers.get("X-Amz-Target") or b""
        target = target.decode() if isinstance(target, bytes) else str(target)
        if not target.startswith("DynamoDB_"):
            return None
        operation = target.split(".", 1)[1]
        self.calls[operation] += 1
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = {}
        tables = self._tables(body)
        for rule in self.rules:
            if rule.operation != operation:
                continue
            if rule.table is not None and not any(rule.table in t for t in tables):
                continue
            if rule.times is not None and rule.hits >= rule.times:
                continue
            rule.hits += 1
            self.injected[operation] += 1
            error: dict[str, Any] = {
                "__type": f"com.amazonaws.dynamodb.v20120810#{rule.code}",
                "message": "Injected by the robustness suite",
            }
            if rule.cancellation_reasons is not None:
                error["CancellationReasons"] = [{"Code": c, "Message": c} for c in rule.cancellation_reasons]
                error["message"] = (
                    "Transaction cancelled, please refer cancellation reasons for specific reasons ["
                    + (", ".join(rule.cancellation_reasons))
                    + "]"
                )
            headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "robustness"}
            return 400, headers, json.dumps(error).encode()
        return None


@pytest.fixture
def dynamo_faults(monkeypatch: pytest.MonkeyPatch) -> DynamoFaults:
    """Install the injector under moto (use with the ``aws`` fixture)."""
    import botocore.endpoint
    from moto.core.botocore_stubber import BotocoreStubber

    faults = DynamoFaults()
    original = BotocoreStubber.process_request

    def process_request(self: Any, request: Any) -> Any:
        injected = faults.answer(request)
        return injected if injected is not None else original(self, request)

    class _Time:
        """botocore.endpoint's view of ``time``: its retry sleeps are recorded, not slept."""

        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        def sleep(self, seconds: float) -> None:
            faults.sleeps.append(seconds)

    monkeypatch.setattr(BotocoreStubber, "process_request", process_request)
    monkeypatch.setattr(botocore.endpoint, "time", _Time())
    return faults


def crash_after(
    monkeypatch: pytest.MonkeyPatch,
    owner: Any,
    name: str,
    *,
    call: int = 1,
    when: Callable[..., bool] | None = None,
) -> Counter[str]:
    """The ``call``-th matching call of ``owner.name`` completes, then the process dies (``Killed``)."""
    original = getattr(owner, name)
    seen: Counter[str] = Counter()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if when is None or when(*args, **kwargs):
            seen["calls"] += 1
            if seen["calls"] == call:
                raise Killed(f"process killed right after {name}")
        return result

    monkeypatch.setattr(owner, name, wrapper)
    return seen


def fail_on(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, *, when: Callable[..., bool]) -> Counter[str]:
    """Matching calls of ``owner.name`` die *before* doing anything (the process is gone)."""
    original = getattr(owner, name)
    seen: Counter[str] = Counter()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if when(*args, **kwargs):
            seen["killed"] += 1
            raise Killed(f"process killed before {name}")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return seen
