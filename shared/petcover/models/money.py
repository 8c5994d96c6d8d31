"""API shapes of money: fee schedules, settlements, reconciliation, staff money requests, reports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from petcover.domain.fees import FeeRate, FeeVersion
from petcover.domain.money import DecimalRules
from petcover.models.base import Model

Month = Annotated[str, StringConstraints(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
PartyId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


class _In(Model):
    model_config = ConfigDict(extra="forbid")


class FeeSchedulePublish(_In):
    effective_from: date = Field(description="Business day from which fulfilled orders earn these fees (not past).")
    rates: list[FeeRate] = Field(min_length=1, max_length=500)
    reason: Reason


class SettlementRun(_In):
    party: Literal["channel", "provider"]
    party_id: PartyId
    month: Month


class SettlementLine(Model):
    at: datetime
    basis_at: datetime | None
    time_basis: str
    event: str
    policy_number: str = ""
    ref: str | None = None
    amount: Decimal
    commission: Decimal
    net: Decimal
    adjustment: bool = False
    note: str | None = None


SettlementStatus = Literal["issued", "settled", "approved", "paid"]


class Settlement(Model):
    """A statement of one party for one month: a channel's receivable or a provider's fees."""

    settlement_id: str
    party: Literal["channel", "provider"]
    party_id: str
    month: str
    status: SettlementStatus
    opening_balance: Decimal = Field(description="Still owed from earlier months when the run was made.")
    receivables: Decimal = Decimal(0)
    refunds: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)
    adjustments: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    deductions: Decimal = Decimal(0)
    net_due: Decimal = Field(description="This month's activity: what the month adds to the balance.")
    payments: Decimal = Field(Decimal(0), description="Payments posted in this period (of earlier statements).")
    closing_balance: Decimal = Field(description="Opening + net due - payments: what the receipt or payment settles.")
    lines: list[SettlementLine] = Field(default_factory=list)
    created_at: datetime
    created_by: str
    decided: list[dict[str, Any]] = Field(default_factory=list, description="Who confirmed, approved, paid; when.")
    files: dict[str, str] = Field(default_factory=dict, description="Document bucket keys per format.")


class SettlementAction(_In):
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)] | None = None
    amount: Decimal | None = Field(None, description="Receipt: the amount received (must equal the net due).")


class SettlementFile(Model):
    settlement_id: str
    format: Literal["json", "csv", "xlsx"]
    content_type: str
    encoding: Literal["utf-8", "base64"]
    content: str


class Difference(Model):
    check: str
    kind: str
    objects: list[str]
    detail: str


class ReconciliationReport(Model):
    day: str
    status: Literal["clean", "differences"]
    run_at: datetime
    counts: dict[str, int]
    differences: list[Difference]
    configuration_gaps: list[Difference] = Field(description='Reported once, e.g. "no_fee_schedule".')
    files: dict[str, str] = Field(description="Document bucket keys of the JSON and CSV report.")


RequestKind = Literal["manual_refund", "payout_correction", "ledger_adjustment", "reversal"]
NEEDS: dict[str, tuple[str, ...]] = {
    "manual_refund": ("amount", "policy_number"),
    "payout_correction": ("amount", "claim_number"),
    "ledger_adjustment": ("amount", "debit_account", "credit_account", "book"),
    "reversal": ("book", "period", "journal_id"),
}
Account = Annotated[str, StringConstraints(pattern=r"^[a-z_]+(:[A-Za-z0-9_.-]{1,64})?$")]


class MoneyRequestCreate(_In):
    """What one member of finance asks for; another approves it before anything is posted."""

    kind: RequestKind
    reason: Reason
    amount: Annotated[Decimal, DecimalRules(2, max_digits=14)] | None = Field(
        None, description="Refund, correction or adjustment amount (not zero)."
    )
    policy_number: str | None = Field(None, max_length=40, description="manual_refund")
    claim_number: str | None = Field(None, max_length=40, description="payout_correction (negative: clawback)")
    debit_account: Account | None = Field(None, description="ledger_adjustment, e.g. channel_receivable:shop-a")
    credit_account: Account | None = Field(None, description="ledger_adjustment, e.g. premium_income")
    book: str | None = Field(
        None, max_length=80, description="ledger_adjustment and reversal: a channel id, provider:{id} or platform"
    )
    period: Month | None = Field(None, description="reversal: the period of the journal to reverse")
    journal_id: str | None = Field(None, max_length=40, description="reversal: the journal to reverse")

    @model_validator(mode="after")
    def _fields_of_its_kind(self) -> MoneyRequestCreate:
        """Each kind names what it needs: manual_refund amount and policy_number; payout_correction amount
        and claim_number; ledger_adjustment amount, debit_account, credit_account and book; reversal book,
        period and journal_id. An amount is never zero."""
        missing = [f for f in NEEDS[self.kind] if getattr(self, f) in (None, "")]
        if missing:
            raise ValueError(f"a {self.kind} needs {', '.join(missing)}")
        if self.amount is not None and self.amount == 0:
            raise ValueError("the amount cannot be zero")
        return self


class MoneyDecision(_In):
    decision: Literal["approve", "reject"]
    note: Reason | None = None


class MoneyRequest(Model):
    request_id: str
    status: Literal["requested", "approved", "rejected"]
    spec: MoneyRequestCreate
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    journal_id: str | None = Field(None, description="The journal posted on approval.")


class ExportQuery(_In):
    channel_id: str | None = Field(None, description="One channel; all channels by default.")
    product_code: str | None = None
    granularity: Literal["day", "month"] = "month"
    start: Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")]
    end: Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")]


class ExportFile(Model):
    name: str
    format: Literal["json", "csv", "xlsx", "png"]
    content_type: str
    encoding: Literal["utf-8", "base64"]
    content: str


class LossRatioRow(Model):
    product_code: str
    channel_id: str
    month: str
    premium: Decimal = Field(description="Premium written in the month, less refunds.")
    claims_paid: Decimal
    loss_ratio: Decimal | None = Field(description="claims paid / premium; none when there is no premium.")


# ------------------------------------------------------------------ what finance lists
MoneyView = Literal["money-requests", "settlements", "fee-schedules", "reconciliation-reports"]


class MoneyListPath(Model):
    view: MoneyView = Field(description="money-requests, settlements, fee-schedules or reconciliation-reports.")


class MoneyListQuery(_In):
    status: Literal["pending", "decided", "requested", "approved", "rejected", "issued", "settled", "paid"] | None = (
        Field(
            None,
            description="money-requests: pending (default), decided, requested, approved or rejected; "
            "settlements: issued, settled, approved or paid.",
        )
    )
    party: Literal["channel", "provider"] | None = Field(None, description="settlements: with party_id, one party.")
    party_id: PartyId | None = None
    month: Month | None = Field(
        None, description="settlements: the month (needed without a party); reconciliation-reports: one month."
    )
    service_type: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")] | None = Field(
        None, description="fee-schedules: every version of one service type (else the latest of each)."
    )
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str, StringConstraints(max_length=1024)] | None = None


class ReconciliationDay(Model):
    day: str
    status: Literal["clean", "differences"]
    run_at: datetime
    differences: int
    configuration_gaps: int
    journals: int = 0


class MoneyList(Model):
    """One page of a list; only the list the view names is filled."""

    view: MoneyView
    money_requests: list[MoneyRequest] = Field(default_factory=list)
    settlements: list[Settlement] = Field(default_factory=list, description="Totals and status; lines in the files.")
    fee_versions: list[FeeVersion] = Field(default_factory=list)
    reconciliation_reports: list[ReconciliationDay] = Field(default_factory=list)
    cursor: str | None = None
