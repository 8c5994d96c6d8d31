"""API shapes of risk control: the versioned rule set and the booking review queue."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from petcover.domain.risk import RiskDecision, RiskRule
from petcover.models.base import Model

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class RuleSetPublish(Model):
    model_config = ConfigDict(extra="forbid")

    version: Annotated[int, Field(ge=1)] = Field(
        description="The version this publishes: exactly one more than the version in force (409 otherwise)."
    )
    rules: Annotated[list[RiskRule], Field(max_length=200)]
    note: Note


class RuleSetView(Model):
    version: int = Field(description="0: nothing published yet (every check passes).")
    rules: list[RiskRule]
    published_at: datetime | None = None
    published_by: str | None = None
    note: str | None = None


class RiskReview(Model):
    """Why a booking waits for a staff decision, and since when."""

    reason: str
    since: datetime
    decision: RiskDecision


class BookingReviewEntry(Model):
    appointment_id: str
    policy_number: str
    channel_id: str
    benefit_code: str
    service_type: str
    amount: Decimal | None = None
    review: RiskReview


class BookingReviewQueue(Model):
    items: list[BookingReviewEntry]
    cursor: str | None = None


class BookingReviewQuery(Model):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=2048)


class BookingDecision(Model):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["approve", "reject"] = Field(
        description="approve: the booking goes on to dispatch; reject: it is cancelled and its use released."
    )
    note: Note


class BookingDecided(Model):
    appointment_id: str
    outcome: Literal["approve", "reject"]
    status: str
    decided_by: str
    decided_at: datetime
