"""Powertools logger, metrics and tracer, shared by every function.

``lambda_entry`` puts the three on an entry point, and every entry decorator (the HTTP
adapter, queue consumers, scheduled jobs) goes through it: each call starts with fresh log
keys, flushes its metrics and is traced (tracing is off locally: POWERTOOLS_TRACE_DISABLED).

The correlation id is taken from the caller (header ``X-Correlation-Id``), the SQS message
attribute or the EventBridge detail, and is attached to everything we publish next.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "petcover"

# The SDK and pynamodb log whole requests at DEBUG, and requests carry signing secrets: whatever
# level a troubleshooting session sets, they never log below WARNING.
for _noisy in ("pynamodb", "botocore", "boto3", "urllib3"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Petcover", service=SERVICE)


class Untraced:
    """The tracer when tracing is off: loading the X-Ray SDK makes two botocore clients (about the
    whole boto3 floor again), so with tracing off (locally: POWERTOOLS_TRACE_DISABLED, as Powertools
    itself decides) it is never loaded and entry points are left as they are."""

    def capture_lambda_handler(self, handler: Callable[..., R], capture_response: bool = True) -> Callable[..., R]:
        return handler


tracer: Tracer | Untraced = Untraced() if Tracer._is_tracer_disabled() else Tracer(service=SERVICE)

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)


def set_correlation_id(value: str | None) -> str:
    cid = value or str(uuid.uuid4())
    _correlation_id.set(cid)
    logger.set_correlation_id(cid)
    return cid


def correlation_id() -> str:
    return _correlation_id.get() or set_correlation_id(None)


def count(metric: str, value: float = 1) -> None:
    """One business metric per handler; flushed by ``log_metrics`` on the handler."""
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)


R = TypeVar("R")


@dataclass(frozen=True)
class InProcessContext:
    """The Lambda context fields the logger reads, for a handler called in-process without one."""

    function_name: str = "in-process"
    memory_limit_in_mb: int = 0
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def lambda_entry(handler: Callable[[Any, Any], R]) -> Callable[..., R]:
    """Log keys cleared per call, metrics flushed, the call traced: once, for every entry point.

    Responses stay out of the trace (they carry personal data). A handler called without a
    context (tests, tools) gets an ``InProcessContext``.
    """
    traced = tracer.capture_lambda_handler(handler, capture_response=False)
    measured = metrics.log_metrics(traced)
    logged = logger.inject_lambda_context(measured, clear_state=True)

    @functools.wraps(handler)
    def entry(event: Any, context: Any = None) -> R:
        return logged(event, context if context is not None else InProcessContext())

    return entry


__all__ = [
    "InProcessContext",
    "correlation_id",
    "count",
    "lambda_entry",
    "logger",
    "metrics",
    "set_correlation_id",
    "tracer",
]
