"""SQS queue consumers: one decorator turns a per-message function into a batch handler.

Each SQS record runs on its own through Powertools' BatchProcessor: a record that raises is
reported in ``batchItemFailures`` and comes back (then goes to the DLQ after maxReceiveCount);
the others are done. The correlation id travels as a message attribute.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from petcover import runtime
from petcover.observability import count, lambda_entry, logger, set_correlation_id
from petcover.ports import Ports

MessageFn = Callable[[Ports, dict[str, Any], SQSRecord], None]
BatchHandler = Callable[..., dict[str, Any]]


def queue_consumer(metric: str) -> Callable[[MessageFn], BatchHandler]:
    """``fn(ports, body, record)`` runs once per message; ``metric`` counts the messages done."""

    def decorate(fn: MessageFn) -> BatchHandler:
        def consume(p: Ports, record: SQSRecord) -> None:
            attr = (record.raw_event.get("messageAttributes") or {}).get("correlation_id") or {}
            set_correlation_id(attr.get("stringValue"))
            logger.append_keys(message_id=record.message_id)
            fn(p, json.loads(record.body or "{}"), record)
            count(metric)

        @lambda_entry
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            p = runtime.ports()
            processor = BatchProcessor(event_type=EventType.SQS)
            one = functools.partial(consume, p)  # Powertools passes ``record=`` by name
            return dict(process_partial_response(event=event, record_handler=one, processor=processor))

        handler.consumer = fn  # type: ignore[attr-defined]
        return handler

    return decorate


def receive_count(record: SQSRecord) -> int:
    return int(record.attributes.approximate_receive_count or 1)
