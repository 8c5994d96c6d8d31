"""API shapes of claims: apply, update, query (channels); open, assess, approve, reject, pay (ops)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool, StringConstraints, model_validator

from petcover.domain.money import DecimalRules
from petcover.domain.risk import RiskDecision
from petcover.models.base import Model

INCIDENT_DATE = "The day of the incident, business time (Asia/Shanghai): not after today."
ClaimRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.:-]+$")]
ClaimMoney = Annotated[Decimal, DecimalRules(2, max_digits=12, low="gt0")]
TrackingNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=4, max_length=40, pattern=r"^[A-Za-z0-9-]+$")
]
DocumentRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
IncidentType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
BenefitCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]

ClaimStatus = Literal["submitted", "assessing", "approved", "rejected", "paid"]


class _In(Model):
    model_config = ConfigDict(extra="forbid")


class Evidence(_In):
    tracking_number: TrackingNumber | None = Field(
        None, description="Return-shipping cover: the carrier's tracking number of the return parcel."
    )
    documents: list[DocumentRef] = Field(
        default_factory=list, max_length=20, description="References to uploaded invoices, photos, reports."
    )


class ClaimCreate(_In):
    channel_claim_id: ClaimRef | None = Field(
        None, description="The channel's own reference; unique per channel, a repeat returns the same claim."
    )
    benefit_code: BenefitCode | None = Field(
        None, description="The reimbursement benefit claimed; the plan's only one by default."
    )
    incident_date: date = Field(description=INCIDENT_DATE)
    incident_type: IncidentType
    description: Text = ""
    amount: ClaimMoney = Field(description="Amount claimed, in the policy currency.")
    evidence: Evidence = Field(default_factory=Evidence)
    device_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] | None = Field(
        None, description="The claimant's device, as the channel knows it (risk control)."
    )


class OpsClaimCreate(ClaimCreate):
    """Service staff open a claim for a customer who phoned."""

    caller_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    identity_verified: StrictBool = Field(
        description="The caller passed the identity check (account security); a claim is refused otherwise."
    )


class ClaimUpdate(_In):
    """Only the fields given change; the claim is assessed again and a change record is kept."""

    reason: Reason
    amount: ClaimMoney | None = None
    incident_date: date | None = Field(None, description=INCIDENT_DATE)
    incident_type: IncidentType | None = None
    description: Text | None = None
    tracking_number: TrackingNumber | None = None
    documents: list[DocumentRef] | None = Field(None, max_length=20)

    @model_validator(mode="after")
    def _something_changes(self) -> ClaimUpdate:
        """At least one field besides reason is given."""
        if not (self.model_fields_set - {"reason"}):
            raise ValueError("give at least one field to change")
        return self


class AssessRequest(_In):
    note: Text | None = None


class ApproveRequest(_In):
    amount: ClaimMoney
    note: Text | None = None


class RejectRequest(_In):
    reason: Reason


class PayRequest(_In):
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] | None = Field(
        None, description="Payment reference (bank transfer id) for reconciliation."
    )


class Decision(Model):
    outcome: Literal["approve", "reject", "hold"]
    rule: str = Field(description="The rule that decided: a failed rule, 'all_rules_passed' or 'assessor'.")
    ruleset: str | None = None
    passed: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    note: str | None = None
    by: str
    at: datetime


class StaffReview(Model):
    """Why a claim waits in the staff queue for an assessor, and since when."""

    reason: str = Field(description="In words, what an assessor has to look at.")
    rule: str = Field(
        description="What sent it there: a failed automatic rule, 'manual_benefit' (no automatic rules for "
        "this benefit), 'payout_refused' (approved by rule, the payout was refused) or 'risk' (risk rules "
        "asked for a review: the claim's ``risk`` says which)."
    )
    since: datetime


class Claim(Model):
    claim_number: str
    policy_number: str
    channel_id: str
    channel_claim_id: str | None = None
    product_code: str
    product_kind: str
    product_version: int
    plan_code: str
    benefit_code: str
    status: ClaimStatus
    version: int
    auto: bool = Field(False, description="Assessed and paid by rule (return-shipping cover).")
    source: Literal["channel", "ops"] = "channel"
    opened_by: str
    incident_date: date = Field(description=INCIDENT_DATE)
    incident_type: str
    description: str = ""
    amount: Decimal
    currency: str = "CNY"
    evidence: Evidence = Field(default_factory=Evidence)
    approved_amount: Decimal | None = None
    paid_amount: Decimal | None = None
    payment_reference: str | None = None
    decision: Decision | None = None
    note: str | None = None
    review: StaffReview | None = Field(None, description="Set while the claim waits in the staff queue.")
    risk: RiskDecision | None = Field(
        None, description="The risk check at submission: outcome and the rules that fired (None: no rules)."
    )
    changes: int = 0
    submitted_at: datetime
    updated_at: datetime
    paid_at: datetime | None = None


class ClaimChange(Model):
    version: int
    at: datetime
    by: str
    reason: str
    before: dict[str, Any]
    after: dict[str, Any]


class ClaimDetail(Claim):
    history: list[ClaimChange] = Field(default_factory=list)


class ClaimList(Model):
    items: list[Claim]
    cursor: str | None = None


class ClaimListQuery(Model):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=2048)


class ClaimReviewEntry(Model):
    claim_number: str
    policy_number: str
    channel_id: str
    product_code: str
    benefit_code: str
    status: ClaimStatus
    auto: bool
    amount: Decimal
    currency: str
    review: StaffReview


class ClaimReviewQueue(Model):
    items: list[ClaimReviewEntry]
    cursor: str | None = None


class ClaimReviewQuery(Model):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=2048)


class DecisionRequest(Model):
    """A ClaimDecisionQueue message: decide this claim as it now is (the version is the one that asked)."""

    claim_number: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    version: int = Field(ge=1)


class AutoClaimsRun(Model):
    examined: int = 0
    paid: int = 0
    rejected: int = 0
    held: int = 0
    unpayable: int = 0
    skipped: int = 0
    conflicts: int = 0
    errors: int = 0
    webhooks_resent: int = 0
    more: bool = False
