"""Entry points for async steps: SQS batches (partial failures) and schedules.

Each SQS record runs on its own through Powertools' BatchProcessor: a record that raises is
reported in ``batchItemFailures`` and comes back (then goes to the DLQ after maxReceiveCount);
the others are done. The correlation id travels as a message attribute.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from petcover import runtime
from petcover.observability import count, logger, metrics, set_correlation_id
from petcover.ports import Ports

RecordFn = Callable[[Ports, dict[str, Any], SQSRecord], None]


def sqs_batch(metric: str) -> Callable[[RecordFn], Callable[[dict[str, Any], Any], dict[str, Any]]]:
    def decorate(fn: RecordFn) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
            p = runtime.ports()
            processor = BatchProcessor(event_type=EventType.SQS)

            def one(record: SQSRecord) -> None:
                attr = (record.raw_event.get("messageAttributes") or {}).get("correlation_id") or {}
                set_correlation_id(attr.get("stringValue"))
                logger.append_keys(message_id=record.message_id)
                body = json.loads(record.body or "{}")
                fn(p, body, record)
                count(metric)

            try:
                return dict(process_partial_response(event=event, record_handler=one, processor=processor))
            finally:
                metrics.flush_metrics(raise_on_empty_metrics=False)

        handler.consumer = fn  # type: ignore[attr-defined]
        return handler

    return decorate


def receive_count(record: SQSRecord) -> int:
    return int(record.attributes.approximate_receive_count or 1)


ScheduleFn = Callable[[Ports, dict[str, Any]], Any]


def scheduled(metric: str) -> Callable[[ScheduleFn], Callable[[dict[str, Any], Any], Any]]:
    """An EventBridge schedule or rule target; the event's detail may carry a correlation id."""

    def decorate(fn: ScheduleFn) -> Callable[[dict[str, Any], Any], Any]:
        def handler(event: dict[str, Any], context: Any = None) -> Any:
            detail = event.get("detail") if isinstance(event, dict) else None
            set_correlation_id((detail or {}).get("correlation_id") if isinstance(detail, dict) else None)
            try:
                result = fn(runtime.ports(), event or {})
                count(metric)
                logger.info("done", extra={"result": result if isinstance(result, dict) else None})
                return result
            finally:
                metrics.flush_metrics(raise_on_empty_metrics=False)

        handler.job = fn  # type: ignore[attr-defined]
        return handler

    return decorate
