"""SNS topic subscribers: one decorator turns a per-notification function into a Lambda handler.

SNS invokes the function asynchronously, one notification per record; a notification whose
function raises is retried by Lambda (twice), then kept by the function's dead-letter queue.
The correlation id travels as the message attribute ``correlation_id`` when the publisher set one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from petcover import runtime
from petcover.observability import count, lambda_entry, logger, set_correlation_id
from petcover.ports import Ports

NotificationFn = Callable[[Ports, dict[str, Any]], Any]


def topic_subscriber(metric: str) -> Callable[[NotificationFn], Callable[..., dict[str, Any]]]:
    """``fn(ports, sns)`` runs once per notification (``sns`` is the record's ``Sns`` object)."""

    def decorate(fn: NotificationFn) -> Callable[..., dict[str, Any]]:
        @lambda_entry
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            p = runtime.ports()
            results = []
            for record in event.get("Records") or []:
                sns = record.get("Sns") or {}
                attr = (sns.get("MessageAttributes") or {}).get("correlation_id") or {}
                set_correlation_id(attr.get("Value"))
                logger.append_keys(message_id=sns.get("MessageId"))
                results.append(fn(p, sns))
                count(metric)
            logger.info("done", extra={"notifications": len(results)})
            return {"notifications": len(results), "results": [r if isinstance(r, str) else None for r in results]}

        handler.subscriber = fn  # type: ignore[attr-defined]
        return handler

    return decorate
