"""API shapes of the staff console's overview."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from petcover.models.base import Model


class OverviewFigures(Model):
    """What happened in a period (a business day or month). Money in yuan."""

    policies_issued: int = Field(0, description="New and renewed policies")
    premium: Decimal = Field(Decimal(0), description="Premium written, endorsements included")
    cancellations: int = 0
    refunds: Decimal = Decimal(0)
    claims_opened: int = 0
    claims_paid: int = 0
    claims_paid_amount: Decimal = Decimal(0)
    bookings: int = 0
    fulfilled: int = 0
    appointments_cancelled: int = 0
    sla_breaches: int = Field(0, description="SLA breaches detected in the period")
    fulfilment_rate: float | None = Field(
        None, description="fulfilled / (fulfilled + cancelled) of the appointments closed in the period"
    )


class OverviewDay(OverviewFigures):
    day: date


class DeadLetterDepth(Model):
    queue: str
    depth: int | None = Field(None, description="Approximate messages waiting; null when it could not be read")


class Overview(Model):
    as_of: datetime
    business_day: date
    month: str
    today: OverviewFigures
    this_month: OverviewFigures
    open_sla_breaches: int = Field(description="Open work orders found late at their current node")
    manual_queue: int = Field(description="Orders waiting in the manual-dispatch queue")
    dead_letters: list[DeadLetterDepth]
    series: list[OverviewDay] = Field(description="The last 30 business days, oldest first, today included")
