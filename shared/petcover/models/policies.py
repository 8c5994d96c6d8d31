"""API shapes of the policy lifecycle."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictBool, StringConstraints

from petcover.domain.catalog import InsuredFacts
from petcover.domain.pricing import Quote
from petcover.domain.risk import RiskDecision
from petcover.models.base import Model
from petcover.models.insurers import InsurerAssignment

OrderId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.:-]+$")]
PlanCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
DeviceId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
ProductCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]


class _In(Model):
    model_config = ConfigDict(extra="forbid")


class QuoteRequest(_In):
    product_code: ProductCode
    plan_code: PlanCode
    insured: InsuredFacts


class QuoteResponse(Model):
    quote: Quote
    contract_version: int


class Holder(_In):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 -]{5,20}$")] | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        None, description="The holder's address (risk control compares it with its lists)."
    )


class UnderwriteRequest(_In):
    product_code: ProductCode
    plan_code: PlanCode
    insured: InsuredFacts
    channel_order_id: OrderId
    holder: Holder
    start_date: date | None = Field(
        None,
        description="Cover starts at 00:00 of this day, business time (today by default, up to 90 days ahead).",
    )
    sold_at: datetime | None = Field(
        None,
        description="When the channel sold it (its order time), now by default and up to 62 days back: the "
        "premium is receivable in that business month, or in the next open one as an adjustment when that "
        "month is already settled.",
    )
    device_id: DeviceId | None = Field(None, description="The buyer's device, as the channel knows it (risk control).")


class BenefitBalance(Model):
    code: str
    name: str
    kind: str
    service_type: str
    quota: int | None = None
    used: int = 0
    held: int = 0
    available: int | None = None
    amount_limit: Decimal | None = None
    available_from: date | None = None
    commodity_categories: list[str] = Field(default_factory=list)
    commodity_skus: list[str] = Field(default_factory=list)
    item_allowance: int | None = None


# pending_insurer: the insurer's answer is not known yet; failed: no insurer issued it (final).
PolicyStatus = Literal["active", "cancelled", "expired", "pending_insurer", "failed"]


class Policy(Model):
    number: str
    channel_id: str
    channel_order_id: str
    product_code: str
    product_kind: str
    product_version: int
    contract_version: int
    plan_code: str
    insured: InsuredFacts
    holder: Holder
    start_date: date = Field(description="Cover starts at 00:00 of this day, business time (Asia/Shanghai).")
    end_date: date = Field(
        description="Cover ends at 00:00 of this day, business time: the term is [start_date, end_date)."
    )
    premium: Decimal
    sum_insured: Decimal
    remaining_sum_insured: Decimal
    currency: str = "CNY"
    status: PolicyStatus
    version: int
    benefits: list[BenefitBalance]
    created_at: datetime
    sold_at: datetime | None = Field(None, description="The channel's order time when it sold it back-dated.")
    renewed_from: str | None = None
    cancelled_at: datetime | None = None
    refund: Decimal | None = None
    quote: Quote | None = None
    insurer: InsurerAssignment | None = Field(
        None, description="The insurer that underwrote it and why it was chosen (None: in-house, before routing)."
    )
    risk: RiskDecision | None = Field(
        None, description="The risk check at underwriting: outcome and the rules that fired (None: no rules)."
    )


class PolicyVersion(Model):
    version: int
    at: datetime
    action: str
    plan_code: str
    premium: Decimal
    premium_change: Decimal
    reason: str | None = None


class PolicyHistory(Model):
    number: str
    versions: list[PolicyVersion]


class EndorseRequest(_In):
    plan_code: PlanCode
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class EndorseResponse(Model):
    policy: Policy
    premium_change: Decimal


class RenewRequest(_In):
    channel_order_id: OrderId
    start_date: date | None = Field(
        None, description="The new term starts at 00:00 of this day, business time (up to 90 days ahead)."
    )


class CancelRequest(_In):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    goods_shipped: StrictBool = Field(False, description="Return-shipping cover: the goods were already shipped.")


class CancelResponse(Model):
    policy: Policy
    refund: Decimal


class PolicyLookup(Model):
    by: Literal["number", "channel_order_id", "insured"] | None = None
    number: str | None = None
    channel_id: str | None = None
    channel_order_id: str | None = None
    insured_id: str | None = None


class PolicyList(Model):
    items: list[Policy]


class LookupQuery(Model):
    number: str | None = Field(None, description="A policy number")
    channel_id: str | None = None
    channel_order_id: str | None = None
    insured_id: str | None = None


# A month (2026-11) or a day (2026-11-22) that exists on the calendar.
Period = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")]


class StatisticsQuery(Model):
    channel_id: str | None = Field(None, description="One channel; all channels by default.")
    product_code: str | None = None
    granularity: Literal["day", "month"] = "day"
    start: Period
    end: Period


class StatisticsRow(Model):
    channel_id: str
    product_code: str
    plan_code: str
    period: str
    policies: int
    premium: Decimal
    refunds: Decimal
    claims: int
    claim_amount: Decimal


class Statistics(Model):
    rows: list[StatisticsRow]
    totals: StatisticsRow
