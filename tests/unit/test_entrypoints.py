"""Every entry point (HTTP operation, queue consumer, scheduled job, topic subscriber) gets the same
Powertools care.

Log keys start fresh on each call, metrics are flushed when the call ends, and the handler is
traced; a handler called without a Lambda context (as the tests do) still works.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from petcover import observability
from petcover.api import NoBody, api, public
from petcover.observability import logger
from petcover.queues import queue_consumer
from petcover.schedules import scheduled_job
from petcover.topics import topic_subscriber

API_EVENT = {"httpMethod": "GET", "path": "/probe", "resource": "/probe", "headers": {}, "body": None}
QUEUE_EVENT = {
    "Records": [
        {
            "messageId": "m-0",
            "receiptHandle": "r",
            "body": "{}",
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:probe",
        }
    ]
}
SCHEDULE_EVENT = {"detail-type": "Scheduled Event", "detail": {}}
TOPIC_EVENT = {"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "n-0", "Message": "{}"}}]}


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "ProbeFunction"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:ProbeFunction"
    aws_request_id: str = "req-1"


class Lines(logging.Handler):
    """The JSON lines the Powertools logger writes, as dicts."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(logger.registered_formatter.format(record)))

    def said(self, message: str) -> dict[str, Any]:
        return next(line for line in self.lines if line["message"] == message)


@pytest.fixture
def log_lines() -> Iterator[Lines]:
    handler = Lines()
    logging.getLogger(logger.name).addHandler(handler)
    yield handler
    logging.getLogger(logger.name).removeHandler(handler)


def _first_call_leaks_a_key() -> Callable[[], None]:
    calls = []

    def body() -> None:
        calls.append(1)
        if len(calls) == 1:
            logger.append_keys(leaked="from the first call")
            logger.info("first")
        else:
            logger.info("second")

    return body


def api_entry(body: Callable[[], None]) -> tuple[Callable[..., Any], dict[str, Any]]:
    @api(summary="probe", auth=public(), metric="ProbeAnswered")
    def handler(call: Any) -> dict[str, str]:
        body()
        return {"ok": "yes"}

    return handler, API_EVENT


def queue_entry(body: Callable[[], None]) -> tuple[Callable[..., Any], dict[str, Any]]:
    @queue_consumer("ProbeConsumed")
    def handler(p: Any, message: dict[str, Any], record: Any) -> None:
        body()

    return handler, QUEUE_EVENT


def schedule_entry(body: Callable[[], None]) -> tuple[Callable[..., Any], dict[str, Any]]:
    @scheduled_job("ProbeRan")
    def handler(p: Any, event: dict[str, Any]) -> dict[str, int]:
        body()
        return {"done": 1}

    return handler, SCHEDULE_EVENT


def topic_entry(body: Callable[[], None]) -> tuple[Callable[..., Any], dict[str, Any]]:
    @topic_subscriber("ProbeNotified")
    def handler(p: Any, sns: dict[str, Any]) -> None:
        body()

    return handler, TOPIC_EVENT


ENTRIES = [api_entry, queue_entry, schedule_entry, topic_entry]
METRICS = {
    api_entry: "ProbeAnswered",
    queue_entry: "ProbeConsumed",
    schedule_entry: "ProbeRan",
    topic_entry: "ProbeNotified",
}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.__name__)
def test_a_key_logged_in_one_call_is_absent_from_the_next(entry: Any, fake_ports: Any, log_lines: Lines) -> None:
    handler, event = entry(_first_call_leaks_a_key())
    handler(event, None)
    handler(event, None)
    first, second = log_lines.said("first"), log_lines.said("second")
    assert first["leaked"] == "from the first call"
    assert "leaked" not in second
    assert second["correlation_id"]  # set again for the second call, after the keys were cleared


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.__name__)
def test_the_lambda_context_reaches_the_log_and_none_is_accepted(entry: Any, fake_ports: Any, log_lines: Lines) -> None:
    handler, event = entry(lambda: logger.info("probe"))
    handler(event, FakeLambdaContext())
    handler(event)
    with_context, without = (line for line in log_lines.lines if line["message"] == "probe")
    assert with_context["function_name"] == "ProbeFunction"
    assert with_context["function_request_id"] == "req-1"
    assert without["function_name"] == "in-process"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.__name__)
def test_metrics_are_flushed_when_the_call_ends(entry: Any, fake_ports: Any, capsys: Any) -> None:
    handler, event = entry(lambda: None)
    capsys.readouterr()
    handler(event, None)
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(METRICS[entry] in doc for doc in emitted)
    assert observability.metrics.metric_set == {}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.__name__)
def test_each_entry_is_logged_measured_and_traced_once(entry: Any, monkeypatch: Any) -> None:
    applied: list[str] = []

    def spy(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrap(handler: Any, *args: Any, **kwargs: Any) -> Any:
            applied.append(name)
            return original(handler, *args, **kwargs)

        return wrap

    monkeypatch.setattr(logger, "inject_lambda_context", spy("logger", logger.inject_lambda_context))
    metrics, tracer = observability.metrics, observability.tracer
    monkeypatch.setattr(metrics, "log_metrics", spy("metrics", metrics.log_metrics))
    monkeypatch.setattr(tracer, "capture_lambda_handler", spy("tracer", tracer.capture_lambda_handler))
    entry(lambda: None)
    assert sorted(applied) == ["logger", "metrics", "tracer"]


def test_the_api_adapter_keeps_its_contract(fake_ports: Any) -> None:
    @api(summary="probe", auth=public(), metric="ProbeAnswered")
    def handler(call: Any) -> dict[str, bool]:
        return {"no_body": isinstance(call.body, NoBody)}

    resp = handler(dict(API_EVENT, headers={"X-Correlation-Id": "cid-1"}), None)
    assert resp["statusCode"] == 200
    assert json.loads(resp["body"]) == {"no_body": True}
    assert resp["headers"]["X-Correlation-Id"] == "cid-1"
