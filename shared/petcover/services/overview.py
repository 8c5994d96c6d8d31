"""The staff console's overview: today, this month and a 30-day series, read from counters.

Every figure comes from counters moved in the transaction of the change they count
(``repositories.overview``): at most two Queries for the days (this month and, early in a
month, the one before), one for the gauges, and one SQS attribute read per dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from petcover.config import get_settings
from petcover.domain import calendar
from petcover.domain.money import from_cents
from petcover.models.overview import DeadLetterDepth, Overview, OverviewDay, OverviewFigures
from petcover.observability import logger
from petcover.ports import Ports
from petcover.repositories import overview as repo

SERIES_DAYS = 30
MONEY = ("premium", "refunds", "claims_paid_amount")
DepthReader = Callable[[], list[DeadLetterDepth]]


def figures(counts: Mapping[str, int]) -> OverviewFigures:
    """Counter values as figures: money from cents, and the fulfilment rate."""
    values: dict[str, object] = {k: int(counts.get(k, 0)) for k in repo.DAY_COUNTERS}
    for k in MONEY:
        values[k] = from_cents(int(counts.get(k, 0)))
    fulfilled, cancelled = int(counts.get("fulfilled", 0)), int(counts.get("appointments_cancelled", 0))
    closed = fulfilled + cancelled
    values["fulfilment_rate"] = round(fulfilled / closed, 4) if closed else None
    return OverviewFigures.model_validate(values)


def _sum(rows: list[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for row in rows:
        for k, v in row.items():
            total[k] = total.get(k, 0) + int(v)
    return total


def _months(first: date, last: date) -> list[str]:
    months = [first.strftime("%Y-%m")]
    if last.strftime("%Y-%m") != months[0]:
        months.append(last.strftime("%Y-%m"))
    return months


def overview(p: Ports, dead_letters: DepthReader | None = None) -> Overview:
    now = p.now()
    today = calendar.today(now)
    first = today - timedelta(days=SERIES_DAYS - 1)
    days: dict[str, dict[str, int]] = {}
    for month in _months(first, today):
        days.update(repo.month_days(p.store, month))
    month = today.strftime("%Y-%m")
    series = [
        OverviewDay(day=d, **figures(days.get(d.isoformat(), {})).model_dump())
        for d in (first + timedelta(days=i) for i in range(SERIES_DAYS))
    ]
    gauges = repo.gauges(p.store)
    return Overview(
        as_of=now,
        business_day=today,
        month=month,
        today=figures(days.get(today.isoformat(), {})),
        this_month=figures(_sum([row for d, row in days.items() if d.startswith(month)])),
        open_sla_breaches=gauges["open_breaches"],
        manual_queue=gauges["manual_queue"],
        dead_letters=dead_letters() if dead_letters else [],
        series=series,
    )


def _depth(sqs: Any, queue: str, url: str) -> DeadLetterDepth:
    if not url:
        return DeadLetterDepth(queue=queue, depth=None)
    try:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return DeadLetterDepth(queue=queue, depth=int(attrs["Attributes"]["ApproximateNumberOfMessages"]))
    except Exception as exc:  # one unreadable queue must not hide the others
        logger.warning("could not read a dead-letter queue's depth", extra={"queue": queue, "error": str(exc)})
        return DeadLetterDepth(queue=queue, depth=None)


def dead_letter_depths(sqs: Any) -> list[DeadLetterDepth]:
    """Adapter: every dead-letter queue's approximate depth (SQS queue attributes, no message read)."""
    s = get_settings()
    return [
        _depth(sqs, "BookingDLQ", s.booking_dlq_url),
        _depth(sqs, "DispatchDLQ", s.dispatch_dlq_url),
        _depth(sqs, "QuotaDLQ", s.quota_dlq_url),
        _depth(sqs, "WebhookDLQ", s.webhook_dlq_url),
        _depth(sqs, "AlertDLQ", s.alert_dlq_url),
        _depth(sqs, "BulkDLQ", s.bulk_dlq_url),
        _depth(sqs, "ClaimDecisionDLQ", s.claim_decision_dlq_url),
        _depth(sqs, "AlarmForwardDLQ", s.alarm_forward_dlq_url),
    ]
