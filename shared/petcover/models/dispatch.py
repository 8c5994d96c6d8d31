"""Smart dispatch over the API and the queue: messages, stored decisions, rules, simulation, ops views."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, ConfigDict, Field, StrictBool

from petcover.domain.dispatch import REGION_CODE, Candidate, ProviderOutcome, RegionRule
from petcover.models.base import Model

DispatchStep = Literal["exclusive", "deviation", "weighted_random", "manual", "manual_override"]
RecordState = Literal[
    "pending",  # claimed by a consumer; counters may be moving (a stale claim is taken over)
    "assigned",  # a provider was chosen and counted
    "manual",  # nobody could take it: in the operations queue (gsi2 MANUALQ)
    "overridden",  # ops assigned it by hand (POST /ops/appointments/{id}/assign)
]
RuleStatus = Literal["in_effect", "scheduled", "superseded"]


class DispatchMessage(Model):
    """Body of a DispatchQueue message: one appointment to assign (sent by fulfilment)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    appointment_id: str = Field(min_length=1, max_length=128)
    policy_number: str = Field(min_length=1, max_length=64)
    channel_id: str = Field(min_length=1, max_length=64)
    service_type: str = Field(min_length=1, max_length=40)
    province: str = Field(pattern=REGION_CODE)
    city: str | None = Field(default=None, pattern=REGION_CODE)
    district: str | None = Field(default=None, pattern=REGION_CODE)
    national: StrictBool = False
    insurer_id: str | None = Field(default=None, max_length=64)  # the product's insurer: its bindings apply
    # Providers that declined the order (provider id -> their reason): never offered it again.
    declined: dict[str, str] = Field(default_factory=dict, max_length=100)
    # 0 for the booking's dispatch, then one more after each decline; an older round's message is stale.
    round: int = Field(0, ge=0)
    # An order with items (medicine delivery): SKU -> units. Only providers stocking all of them are chosen.
    items: dict[str, int] = Field(default_factory=dict, max_length=20)

    @property
    def region_code(self) -> str:
        """The most specific region of the order."""
        return self.district or self.city or self.province


class DispatchDecision(Model):
    """Why an appointment went where it went; this dict is what fulfilment.assign receives."""

    appointment_id: str
    provider_id: str | None
    step: DispatchStep
    rule_version: int | None = Field(description="None when no rule set was in effect")
    region_code: str | None = Field(description="The rule's region; None when no rule covers the order")
    service_type: str
    counter_scope: str | None = Field(description="Daily counter the decision read and moved")
    business_date: str = Field(description="Day of the counters (Asia/Shanghai)")
    candidates: list[Candidate] = Field(
        description="Providers that could take it, with target and actual shares at that moment"
    )
    excluded: dict[str, str] = Field(default_factory=dict, description="provider_id -> why it was left out")
    coverage_gap: bool
    reason: str
    decided_at: datetime
    decided_by: str = Field(description='"dispatch" for the automatic consumer, else the ops user')
    attempts: int = Field(1, description="Decisions made: a lost capacity race or an inactive pick decides again")
    over_capacity: bool = Field(False, description="A manual override past the provider's daily capacity")
    assessment: str | None = Field(
        None, description="The quality assessment that shaped the shares of the rule version used, if any"
    )


class DispatchRecord(Model):
    """GET /ops/appointments/{id}/dispatch: the stored decision and its history."""

    appointment_id: str
    message: DispatchMessage
    state: RecordState
    received_at: datetime
    decision: DispatchDecision | None = None
    history: list[DispatchDecision] = Field(
        default_factory=list, description="Earlier decisions, replaced by a manual assignment or a decline"
    )
    version: int = 1
    round: int = Field(0, description="Dispatches of this appointment so far, less one (a decline starts a new one)")


class ManualAssignRequest(Model):
    model_config = ConfigDict(extra="forbid")

    provider_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)


class ManualQueueEntry(Model):
    appointment_id: str
    since: datetime
    service_type: str
    region_code: str
    policy_number: str
    channel_id: str
    reason: str


class ManualQueue(Model):
    items: list[ManualQueueEntry]
    cursor: str | None = None


class CoverageGap(Model):
    region_code: str = Field(description="The rule's region, or the order's own region when no rule covers it")
    service_type: str
    count: int
    first_seen: str
    last_seen: str
    last_appointment_id: str
    last_kind: Literal["no_rule", "no_provider", "no_stock"]
    last_reason: str
    last_missing_skus: list[str] = Field(
        default_factory=list, description="no_stock: the SKUs no candidate provider had enough of in the region."
    )
    last_rule: str | None = Field(
        None,
        description="The rule that left the last order without a candidate: insurer_binding, national_scope, "
        "local_fallback, daily_capacity, declined, provider_configuration, or no_rule",
    )


class CoverageGapList(Model):
    items: list[CoverageGap]
    cursor: str | None = None


class ListQuery(Model):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=2048)


# ---------------------------------------------------------------- rules


class RulesDraft(Model):
    """A rule set as ops write it; shares of each region+service type must add up to exactly 100."""

    model_config = ConfigDict(extra="forbid")

    rules: list[RegionRule] = Field(min_length=1, max_length=5000)
    deviation_threshold_pct: float = Field(0.5, ge=0, lt=100)
    daily_target: int = Field(1000, ge=1, description="Expected orders a day per region+service type")


class RulesPublish(RulesDraft):
    effective_at: AwareDatetime | None = Field(
        None, description="When the version takes effect; now when left out (not more than 5 minutes in the past)"
    )
    base_version: int | None = Field(
        None,
        ge=0,
        description="The version the draft was made from (0 for the first); refused if another was published",
    )
    note: str | None = Field(None, max_length=500)


class RuleSetVersion(Model):
    version: int
    effective_at: datetime
    rules: list[RegionRule]
    deviation_threshold_pct: float
    daily_target: int
    published_at: datetime
    published_by: str
    note: str | None = None
    status: RuleStatus | None = None
    assessment: str | None = Field(None, description="The quality assessment whose grades shaped these shares")


class RuleSetSummary(Model):
    version: int
    effective_at: datetime
    published_at: datetime
    published_by: str
    rule_count: int
    note: str | None = None
    status: RuleStatus


class RulesOverview(Model):
    in_effect: RuleSetVersion | None
    head_version: int
    scheduled: list[int] = Field(description="Versions published to take effect later")
    versions: list[RuleSetSummary]
    cursor: str | None = None


class VersionsQuery(ListQuery):
    limit: int = Field(20, ge=1, le=100)


# ---------------------------------------------------------------- simulation


class MixEntry(Model):
    model_config = ConfigDict(extra="forbid")

    service_type: str = Field(min_length=1, max_length=40)
    province: str = Field(pattern=REGION_CODE)
    city: str | None = Field(default=None, pattern=REGION_CODE)
    district: str | None = Field(default=None, pattern=REGION_CODE)
    national: StrictBool = False
    weight: float = Field(1.0, gt=0)


class SimulationRequest(RulesDraft):
    orders: int = Field(ge=1, le=100_000)
    mix: list[MixEntry] | None = Field(
        None, max_length=1000, description="Regions and service types of the synthetic orders; one per rule if left out"
    )
    active_providers: list[str] | None = Field(None, description="Only these take orders; every provider if left out")
    seed: int | None = None
    warmup: int = Field(100, ge=0, le=100_000)


class SimulationOut(Model):
    orders: int
    manual: int
    coverage_gaps: int
    gap_scopes: list[str]
    steps: dict[str, int]
    providers: list[ProviderOutcome]
    max_final_deviation_pp: float
    seed: int
    mix: list[MixEntry]
    elapsed_ms: int


# ---------------------------------------------------------------- counters


class CounterQuery(Model):
    region_code: str = Field(pattern=REGION_CODE)
    service_type: str = Field(min_length=1, max_length=40)
    date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="Business day; today when left out")


class ProviderCount(Model):
    provider_id: str
    assigned: int
    daily_capacity: int | None
    target_pct: float | None
    actual_pct: float


class CounterView(Model):
    business_date: str
    counter_scope: str
    rule_version: int | None
    total: int = Field(description="Orders routed to the scope today, including the ones sent to the operations queue")
    providers: list[ProviderCount]


class RulesVersionPath(Model):
    """``/ops/dispatch/rules/{version}``: a published version number, 1 or more."""

    version: str = Field(pattern=r"^0*[1-9][0-9]{0,8}$")
