"""API shapes of the staff console's work orders: the filtered list and one order's page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from petcover.models.base import Model
from petcover.models.fulfilment import Appointment
from petcover.models.sla import WorkOrderTimeline

RegionFilter = Annotated[str, StringConstraints(pattern=r"^\d{2}(\d{2}){0,2}$")]


class WorkOrderQuery(Model):
    model_config = ConfigDict(extra="forbid")

    provider_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    region: RegionFilter | None = Field(
        None, description="GB/T 2260 code or prefix: a province (31 or 310000), a city (3101) or a district"
    )
    service_type: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    status: Annotated[str, StringConstraints(pattern=r"^[a-z_]{3,30}$")] | None = Field(
        None, description="The node an open order is at (assigned, accepted, shipped, ...) or 'closed'"
    )
    overdue: bool = Field(False, description="Only open orders past the due time of their next node")
    closed_on: date | None = Field(None, description="With status=closed: the business day they closed (today)")
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str, StringConstraints(max_length=2000)] | None = None


class WorkOrderSummary(Model):
    order_id: str
    provider_id: str
    service_type: str
    region: str
    node: str = Field(description="Where it stands: its current node, or the node that closed it")
    entered_at: datetime
    open: bool
    next_node: str | None = None
    due_at: datetime | None = None
    overdue: bool = False
    breached: bool = Field(False, description="Found late at its current node by the SLA check")
    console_path: str


class WorkOrderPage(Model):
    items: list[WorkOrderSummary]
    cursor: str | None = Field(None, description="Pass back for the next page; none: this was the last")
    index: Literal["open", "due", "closed_day"] = Field(description="The index this list was read from")


class SlaStep(Model):
    """One node against the SLA: when the next node was due and whether it came in time."""

    node: str
    at: datetime
    provider_id: str
    next_node: str | None = None
    due_at: datetime | None = Field(None, description="When next_node was due (the SLA configuration in force now)")
    done_at: datetime | None = Field(None, description="When the order left this node")
    late: bool | None = Field(None, description="None while it waits or when no limit applies")
    late_seconds: int | None = None


class StaffAction(Model):
    action: Literal["handle_exception", "manual_assign", "explain_dispatch"]
    method: Literal["GET", "POST"]
    path: str
    roles: list[str]


class WorkOrderDetail(Model):
    order_id: str
    console_path: str
    timeline: WorkOrderTimeline
    steps: list[SlaStep] = Field(description="Each node against its SLA, oldest first")
    appointment: Appointment | None = Field(None, description="The appointment the order fulfils")
    actions: list[StaffAction] = Field(description="What staff may do now (the server checks roles again)")
