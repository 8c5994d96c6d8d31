"""API shapes of the provider portal: a provider's (or an insurer's) staff reading their own data."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from petcover.domain.catalog import ProductCode
from petcover.domain.quality import Assessment, MonthCounters
from petcover.models.base import Model
from petcover.models.claims import ClaimStatus
from petcover.models.fulfilment import AppointmentStatus, WorkOrder
from petcover.models.partners import Binding, ChangeRequest, PartnerDetail
from petcover.models.quality import Complaint, Rating

PortalAction = Literal["accept", "decline", "confirm_time", "check_in", "ship", "track", "deliver", "raise_exception"]
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class PortalUser(Model):
    """Who is signed in: the partner the user's group names."""

    kind: Literal["provider", "insurer"]
    partner_id: str
    partner_name: str
    user: str = Field(description="The user's sign-in subject")


class PortalWorkOrder(WorkOrder):
    actions: list[PortalAction] = Field(description="What the provider may do now, from the order's state and mode")


class PortalWorkOrderList(Model):
    items: list[PortalWorkOrder]
    cursor: str | None = None


class PortalWorkOrderQuery(Model):
    status: AppointmentStatus | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 20
    cursor: str | None = None


class NodeTimes(Model):
    """How long one SLA node took on the provider's recent work orders (minutes)."""

    node: str
    sample: int
    p50_minutes: float | None
    p90_minutes: float | None
    done: int = Field(description="Nodes reached this month that had a due time")
    on_time: int
    breach_rate: float | None = Field(description="Share of those reached after their due time (0..1)")


class PeerRank(Model):
    """Where the provider stands among providers with work this month, by on-time rate; peers are anonymised."""

    rank: int | None
    of: int
    peers: list[PeerRate]


class PeerRate(Model):
    label: str = Field(description="'you' or 'peer N': other providers are never named")
    on_time_rate: float | None


class Timeliness(Model):
    month: str
    sample_orders: int = Field(description="Recent work orders the durations were measured on")
    nodes: list[NodeTimes]
    breaches: int
    breach_rate: float | None
    ranking: PeerRank


class ShareLine(Model):
    region_code: str
    service_type: str
    target_pct: float
    actual_pct: float = Field(description="Share of today's orders of the rule's providers")
    assigned_today: int
    daily_capacity: int


class DispatchShare(Model):
    business_date: str
    rule_version: int | None
    assessment: str | None = Field(description="The quality assessment that shaped the shares, if any")
    lines: list[ShareLine]


class Feedback(Model):
    month: str
    average_rating: float | None
    rating_count: int
    complaint_count: int
    ratings: list[Rating] = Field(description="Ratings of the provider's recent work orders")
    complaints: list[Complaint] = Field(description="Complaints about the provider's recent work orders")


class PortalAssessment(Model):
    month: str | None = Field(description="The latest assessed month, None if never assessed")
    assessment: Assessment | None
    current: MonthCounters | None = Field(description="This month's counters so far (the next assessment's inputs)")


class PortalAccount(Model):
    detail: PartnerDetail
    changes: list[ChangeRequest]


class MonthQuery(Model):
    month: Month | None = None


class BoundProvider(Model):
    binding: Binding
    name: str | None
    grade: str | None = Field(description="The provider's grade in the latest assessment")
    month: MonthCounters | None = Field(description="This month's fulfilment counters")


class InsurerProviders(Model):
    month: str
    items: list[BoundProvider]


class InsurerProduct(Model):
    product_code: str
    name: str | None
    weight: int
    policies_routed: int = Field(description="Policies routed to this insurer in the month")
    bookings: int = Field(0, description="Appointments booked in the month on policies this insurer underwrote")
    fulfilled: int = Field(0, description="Appointments fulfilled in the month on policies this insurer underwrote")


class InsurerProducts(Model):
    month: str
    items: list[InsurerProduct]


class InsurerClaim(Model):
    """A claim on a policy the insurer underwrote, as its staff see it (no evidence, no risk detail)."""

    claim_number: str
    policy_number: str
    channel_id: str
    product_code: str
    plan_code: str
    benefit_code: str
    status: ClaimStatus
    auto: bool
    amount: Decimal
    approved_amount: Decimal | None = None
    paid_amount: Decimal | None = None
    currency: str
    incident_date: date
    incident_type: str
    submitted_at: datetime
    updated_at: datetime
    paid_at: datetime | None = None


class InsurerClaimList(Model):
    items: list[InsurerClaim]
    cursor: str | None = Field(None, description="Pass back for the next page; None at the end of the list")


class InsurerClaimQuery(Model):
    status: ClaimStatus | None = None
    product_code: ProductCode | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 20
    cursor: str | None = None


PeerRank.model_rebuild()
