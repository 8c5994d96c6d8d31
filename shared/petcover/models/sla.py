"""SLA monitoring over the API: configuration, work-order timelines and exceptions, reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from petcover.domain.sla import NodeEvent, SlaBreach, SlaConfig, SlaLimit
from petcover.models.base import Model

ReportKind = Literal["daily", "snapshot", "summary", "stock"]
ReportFormat = Literal["csv", "json", "png"]
ReasonText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
WorkOrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


class _Input(Model):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- configuration


class SlaConfigUpdate(_Input):
    """A new SLA configuration; the server numbers the version."""

    limits: Annotated[list[SlaLimit], Field(min_length=1, max_length=200)]
    remote_extra_pct: Annotated[int, Field(strict=True, ge=0, le=100)] = 20
    core_stricter_pct: Annotated[int, Field(strict=True, ge=0, le=50)] = 10
    remote_regions: Annotated[
        list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]],
        Field(max_length=500, description="Region code prefixes (GB/T 2260): '54', '6501' or a full code"),
    ] = []
    expected_version: int | None = Field(
        None, ge=1, description="Refuse the update (409) unless this is still the current version"
    )
    reason: ReasonText | None = None


class SlaConfigVersion(Model):
    version: int
    at: str
    by: str
    reason: str | None = None
    config: SlaConfig


class EffectiveLimit(Model):
    """One limit with the adjustments applied, in seconds, as the checks will use it."""

    node: str
    service_type: str
    base_seconds: int
    remote_seconds: int
    core_seconds: int
    remote_core_seconds: int


class SlaConfigView(Model):
    current: SlaConfig
    is_default: bool = Field(description="True while no configuration was stored (the built-in default applies)")
    updated_at: str | None = None
    updated_by: str | None = None
    effective: list[EffectiveLimit]
    versions: list[SlaConfigVersion] = Field(description="Stored versions, newest first")


class SlaConfigSaved(Model):
    changed: bool = Field(description="False when the body equals the current configuration (no new version)")
    version: SlaConfigVersion


# ---------------------------------------------------------------- timeline and exceptions


class ExceptionRaise(_Input):
    reason: ReasonText


class ExceptionHandled(_Input):
    resolution: ReasonText


class WorkOrderException(Model):
    order_id: str
    state: Literal["open", "handled"]
    raised_at: str
    raised_by: str
    reason: str
    node_before: str = Field(description="The node the order was at when the exception was raised")
    handled_at: str | None = None
    handled_by: str | None = None
    resolution: str | None = None


class CurrentNode(Model):
    node: str
    entered_at: datetime
    next_node: str | None = None
    due_at: datetime | None = None
    overdue: bool = False
    remaining_seconds: int | None = Field(None, description="Negative when overdue")


class WorkOrderTimeline(Model):
    order_id: str
    provider_id: str
    service_type: str
    region: str
    open: bool
    current: CurrentNode | None = None
    nodes: list[NodeEvent] = Field(description="Oldest first")
    breaches: list[SlaBreach]
    exceptions: list[WorkOrderException]


# ---------------------------------------------------------------- reports


class ReportQuery(_Input):
    kind: ReportKind
    date: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = Field(
        None, description="Local business date (Asia/Shanghai); without it the newest reports come first"
    )
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: str | None = None


class ReportEntry(Model):
    kind: ReportKind
    id: str = Field(description="The date (daily, summary) or date and time (snapshot: 2026-11-22T1430)")
    day: date
    generated_at: str
    formats: list[ReportFormat]
    stats: dict[str, Any] = Field(default_factory=dict)


class ReportList(Model):
    items: list[ReportEntry]
    cursor: str | None = None


class ReportFile(Model):
    kind: ReportKind
    id: str
    format: ReportFormat
    content_type: str
    key: str = Field(description="Object key in the document bucket")
    text: str | None = Field(None, description="CSV or JSON content")
    base64: str | None = Field(None, description="PNG content, base64-encoded")
    legend: dict[str, str] | None = Field(None, description="PNG series name -> colour (#rrggbb)")


class ReportPath(Model):
    """The path of one report file (``/ops/sla/reports/{kind}/{date}/{format}``)."""

    kind: ReportKind
    date: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}(T\d{4})?$")]
    format: Literal["csv", "json", "png"]
