"""Scheduled jobs: one decorator turns a job into an EventBridge schedule (or rule) target.

The event's ``detail`` may carry a correlation id; the job's result is logged and returned.
A finished run counts its ``metric`` (an alarm per scheduled job fires when none arrived in
time: the job failed or did not run); a run that raises counts ``ScheduledJobFailed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from petcover import runtime
from petcover.observability import count, lambda_entry, logger, set_correlation_id
from petcover.ports import Ports

JobFn = Callable[[Ports, dict[str, Any]], Any]
JOB_FAILED = "ScheduledJobFailed"


def scheduled_job(metric: str) -> Callable[[JobFn], Callable[..., Any]]:
    """``fn(ports, event)`` runs once per trigger; ``metric`` counts the runs that finished."""

    def decorate(fn: JobFn) -> Callable[..., Any]:
        @lambda_entry
        def handler(event: dict[str, Any], context: Any) -> Any:
            detail = event.get("detail") if isinstance(event, dict) else None
            set_correlation_id((detail or {}).get("correlation_id") if isinstance(detail, dict) else None)
            try:
                result = fn(runtime.ports(), event or {})
            except Exception:
                count(JOB_FAILED)  # flushed with the others when the call ends, raised or not
                raise
            count(metric)
            logger.info("done", extra={"result": result if isinstance(result, dict) else None})
            return result

        handler.job = fn  # type: ignore[attr-defined]
        handler.metric = metric  # type: ignore[attr-defined]
        return handler

    return decorate
