"""Provider quality over the API: ratings, complaints, quality rules, assessments, proposals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from petcover.domain.quality import Assessment, QualityRules
from petcover.models.base import Model

Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
ComplaintCategory = Literal["service_attitude", "timeliness", "quality", "wrong_item", "billing", "other"]
ProposalState = Literal["pending", "approved", "rejected"]


class _In(Model):
    model_config = ConfigDict(extra="forbid")


class RatingRequest(_In):
    """The pet owner's rating of a fulfilled appointment, sent by the channel once."""

    score: Annotated[int, Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")]
    tags: list[Tag] = Field(default_factory=list, max_length=10)
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None


class Rating(Model):
    appointment_id: str
    provider_id: str
    channel_id: str
    score: int
    tags: list[str]
    comment: str | None
    month: str = Field(description="Business month the rating counts in (YYYY-MM, Asia/Shanghai)")
    rated_at: datetime


class ComplaintRequest(_In):
    category: ComplaintCategory
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="Why ops record it (the audit keeps it with the actor)"
    )


class Complaint(Model):
    complaint_id: str
    work_order_id: str
    provider_id: str
    category: ComplaintCategory
    description: str
    month: str
    recorded_at: datetime
    recorded_by: str


class ComplaintList(Model):
    items: list[Complaint]


class QualityRulesPut(_In):
    rules: QualityRules
    base_version: int | None = Field(None, ge=0, description="The version edited (0 for the first); refused if stale")
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class QualityRulesVersion(Model):
    version: int = Field(description="0: the built-in defaults, never saved")
    rules: QualityRules
    saved_at: datetime | None = None
    saved_by: str | None = None
    note: str | None = None


class AssessQuery(_In):
    provider_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class SuspensionProposal(Model):
    provider_id: str
    grade: str
    score: float | None
    reason: str


class MonthPath(Model):
    """The path of one month's assessment (``/ops/quality/assessments/{month}``)."""

    month: Month


class MonthAssessment(Model):
    """GET /ops/quality/assessments/{month}: every assessed provider of the month."""

    month: str
    rules_version: int
    assessed_at: datetime
    runs: int = Field(description="How often the month was assessed; a re-run replaces, never adds")
    providers: list[Assessment]
    suspension_proposals: list[SuspensionProposal]
    proposal_id: str | None = Field(None, description="The dispatch-rules proposal made from it, if any")


class ApplyRequest(_In):
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class ShareChange(Model):
    region_code: str
    service_type: str
    provider_id: str
    before_pct: int
    after_pct: int
    grade: str | None
    multiplier: float
    reason: str


class ShareProposal(Model):
    """A dispatch-rules version proposed from an assessment; effective only once another staff member approves."""

    proposal_id: str
    month: str
    base_version: int
    state: ProposalState
    proposed_by: str
    proposed_at: datetime
    changes: list[ShareChange]
    tiers: dict[str, bool] = Field(description="provider_id -> core-provider tier after approval")
    suspension_proposals: list[SuspensionProposal]
    decided_by: str | None = None
    decided_at: datetime | None = None
    published_version: int | None = None
    note: str | None = None


class DecideRequest(_In):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
