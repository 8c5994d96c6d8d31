"""API shapes of fulfilment: appointments (channel), work orders (provider), batches, quota ops."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StrictBool, StringConstraints

from petcover.domain.commodities import MAX_ITEMS_PER_ORDER, OrderItem, PricedItem, ShippedItem
from petcover.domain.risk import RiskDecision
from petcover.models.base import Model
from petcover.models.risk import RiskReview

AppointmentStatus = Literal["pending", "booking", "booked", "fulfilling", "fulfilled", "cancelled"]
ServiceMode = Literal["online", "offline"]

RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
BenefitCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
PolicyNumber = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{4,32}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 -]{5,20}$")]


class _In(Model):
    model_config = ConfigDict(extra="forbid")


class Pet(_In):
    pet_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] = Field(
        description="The insured pet's id (the policy's insured_id)."
    )
    name: Text
    species: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=40)] | None = None


class Address(_In):
    contact_name: Text
    phone: Phone
    line: LongText = Field(description="Street, building and room.")
    province: RegionCode
    city: RegionCode
    district: RegionCode | None = None


class BookingRequest(_In):
    benefit_code: BenefitCode
    pet: Pet
    address: Address
    preferred_time: AwareDatetime | None = Field(
        None, description="Offline services (clinic or store): when the owner would like to come. Required there."
    )
    note: LongText | None = None
    device_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] | None = Field(
        None, description="The owner's device, as the channel knows it (risk control)."
    )
    items: Annotated[list[OrderItem], Field(max_length=MAX_ITEMS_PER_ORDER)] | None = Field(
        None,
        description="A benefit that names commodities (medicine delivery): the SKUs and quantities to deliver, "
        "each covered by the benefit, within its per-item allowance and on sale (422 ITEM_NOT_COVERED, "
        "ALLOWANCE_EXCEEDED, COMMODITY_WITHDRAWN otherwise); a prescription-only item needs its prescription_ref.",
    )


class BatchItem(BookingRequest):
    policy_number: PolicyNumber


class BatchRequest(_In):
    items: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=1000)] = Field(
        description="Up to 1,000 bookings (each a BookingRequest plus policy_number); each is checked and "
        "booked on its own, so one bad item never blocks the others."
    )


class Shipment(Model):
    carrier: str
    tracking_number: str
    shipped_at: datetime
    items: dict[str, int] | None = Field(None, description="SKU -> units shipped (orders with items).")
    partial_reason: str | None = Field(None, description="Why fewer units were shipped than ordered.")
    fee: str | None = Field(None, description="The provider's fee: shipped units at the order's prices (CNY).")
    events: list[TrackingEvent] = Field(default_factory=list)


class TrackingEvent(Model):
    at: datetime
    status: str
    description: str | None = None
    location: str | None = None


class CheckIn(Model):
    """The one-time code the owner shows at the clinic (as a QR code)."""

    code: str
    qr_payload: str
    expires_at: datetime


class Step(Model):
    at: datetime
    action: str
    by: str
    state: AppointmentStatus


class Decline(Model):
    """A provider turned the order down; dispatch never offers it to that provider again."""

    provider_id: str
    reason: str
    at: datetime


class Appointment(Model):
    """The stored document and the channel's view of an appointment."""

    appointment_id: str
    policy_number: str
    channel_id: str
    benefit_code: str
    benefit_name: str = ""
    service_type: str
    mode: ServiceMode
    status: AppointmentStatus
    version: int
    pet: Pet
    address: Address
    preferred_time: datetime | None = None
    note: str | None = None
    provider_id: str | None = None
    manual: bool = False
    decision: dict[str, Any] | None = None
    appointment_time: datetime | None = None
    shipment: Shipment | None = None
    created_at: datetime
    updated_at: datetime
    fulfilled_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    receipt: Literal["owner", "auto"] | None = None
    batch: str | None = None  # "{batch_id}#{index}" when booked from a batch
    steps: list[Step] = Field(default_factory=list)
    checkin: CheckIn | None = Field(None, description="Offline, once the time is confirmed: the owner's code.")
    declines: list[Decline] = Field(default_factory=list, description="Providers that declined it (staff only).")
    items: list[PricedItem] = Field(default_factory=list, description="The commodities ordered, at booked prices.")
    scope: Literal["national", "local"] = Field("local", description="The benefit's service scope, for dispatch.")
    insurer_id: str | None = Field(None, description="The product's insurer, whose provider bindings dispatch honours.")
    product_code: str | None = Field(None, description="The policy's product (None: booked before it was recorded).")
    underwriter_id: str | None = Field(
        None,
        description="The insurer that underwrote the policy, whose portal counts this appointment "
        "(None: in-house, or booked before it was recorded).",
    )
    risk: RiskDecision | None = Field(
        None, description="The risk check at booking: outcome and the rules that fired (None: no rules)."
    )
    risk_review: RiskReview | None = Field(
        None, description="Set while the booking waits for a staff decision (risk review): dispatch waits for it."
    )


class BookingResponse(Model):
    appointment_id: str
    status: AppointmentStatus
    policy_number: str
    benefit_code: str
    mode: ServiceMode
    created_at: datetime
    quota_available: int | None = Field(None, description="Uses of this benefit left after this booking's hold.")


class WorkOrder(Model):
    """What a provider sees of an appointment assigned to it (no channel or policy details)."""

    appointment_id: str
    status: AppointmentStatus
    service_type: str
    benefit_name: str = ""
    mode: ServiceMode
    pet: Pet
    address: Address
    preferred_time: datetime | None = None
    appointment_time: datetime | None = None
    note: str | None = None
    shipment: Shipment | None = None
    items: list[PricedItem] = Field(default_factory=list)
    checked_in: bool = False
    created_at: datetime
    updated_at: datetime
    fulfilled_at: datetime | None = None
    cancelled_at: datetime | None = None
    version: int


class WorkOrderList(Model):
    items: list[WorkOrder]
    cursor: str | None = None


class AppointmentList(Model):
    items: list[Appointment]
    cursor: str | None = None


class AppointmentListQuery(Model):
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: str | None = None


class WorkOrderQuery(Model):
    status: AppointmentStatus | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: str | None = None


class CancelAppointmentRequest(_In):
    reason: LongText


class ConfirmTimeRequest(_In):
    appointment_time: AwareDatetime = Field(description="In the future, at most 180 days ahead.")


class ShipRequest(_In):
    carrier: Text
    tracking_number: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9-]{4,40}$")]
    items: Annotated[list[ShippedItem], Field(max_length=MAX_ITEMS_PER_ORDER)] | None = Field(
        None, description="Orders with items: the units actually shipped per SKU (every item in full when omitted)."
    )
    partial_reason: LongText | None = Field(None, description="Required when fewer units are shipped than ordered.")


class TrackingRequest(_In):
    status: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{1,31}$")] = Field(
        description="e.g. in_transit, out_for_delivery, delivered, exception"
    )
    description: LongText | None = None
    location: Text | None = None
    at: AwareDatetime | None = None


class CheckInRequest(_In):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class DeliverRequest(_In):
    note: LongText | None = None


class DeclineRequest(_In):
    reason: LongText = Field(description="Why the provider cannot take the order (kept for operations).")


class DeclinedWorkOrder(Model):
    appointment_id: str
    declined_at: datetime
    reason: str
    redispatch: bool = Field(description="True: the order goes back to dispatch, without this provider.")


class OpenOrder(Model):
    """An order a provider holds and has not finished: what ops need to move it elsewhere."""

    appointment_id: str
    status: AppointmentStatus
    service_type: str
    mode: ServiceMode
    region_code: str
    assigned_at: datetime | None = None
    appointment_time: datetime | None = None
    reassignable: bool = Field(
        description="Ops can move it (POST /ops/appointments/{id}/assign): not accepted yet, or accepted "
        "by a provider that is no longer active; an order under way stays with its provider."
    )


class OpenOrderList(Model):
    provider_id: str
    items: list[OpenOrder]


class BatchAccepted(Model):
    batch_id: str
    total: int
    accepted: int
    rejected: int
    replayed: bool = False


class BatchItemResult(Model):
    index: int
    status: Literal["booked", "rejected"]
    appointment_id: str | None = None
    policy_number: str | None = None
    error: dict[str, Any] | None = None
    at: datetime


class BatchStatus(Model):
    batch_id: str
    created_at: datetime
    total: int
    accepted: int
    issued: int
    rejected: int
    pending: int
    done: bool
    items: list[BatchItemResult]
    cursor: str | None = None


class BatchQuery(Model):
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    cursor: str | None = None


class RedriveResult(Model):
    moved: int
    source: str
    target: str


class ReconcileRequest(_In):
    policy_number: PolicyNumber | None = None
    day: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = Field(
        None, description="Reconcile every policy and benefit whose quota moved on this business day."
    )
    repair: StrictBool = Field(False, description="Re-send the deduction of fulfilled appointments not yet deducted.")


class QuotaMismatch(Model):
    policy_number: str
    benefit_code: str
    quota: int | None
    used: int
    held: int
    available: int | None
    fulfilled: int
    deducted: int
    open: int
    problems: list[str]
    undeducted: list[str] = Field(default_factory=list, description="Fulfilled appointments not yet deducted.")


class ReconcileReport(Model):
    scope: str
    checked: int
    mismatches: list[QuotaMismatch]
    resent: int = 0
    at: datetime


class Deduction(Model):
    deducted: bool
    at: datetime | None = None


class StaffAppointment(Model):
    appointment: Appointment
    deduction: Deduction
    lock: dict[str, Any] | None = None
    nodes: list[dict[str, Any]] = Field(default_factory=list)


Shipment.model_rebuild()
