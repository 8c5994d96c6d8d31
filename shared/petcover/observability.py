"""Powertools logger, metrics and tracer, shared by every function.

The correlation id is taken from the caller (header ``X-Correlation-Id``), the SQS message
attribute or the EventBridge detail, and is attached to everything we publish next.
"""

from __future__ import annotations

import contextvars
import logging
import uuid

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "petcover"

# The SDK and pynamodb log whole requests at DEBUG, and requests carry signing secrets: whatever
# level a troubleshooting session sets, they never log below WARNING.
for _noisy in ("pynamodb", "botocore", "boto3", "urllib3"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Petcover", service=SERVICE)
tracer = Tracer(service=SERVICE)

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


__all__ = ["correlation_id", "count", "logger", "metrics", "set_correlation_id", "tracer"]
