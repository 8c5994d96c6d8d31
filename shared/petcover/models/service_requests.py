"""API shapes of customer-service requests (an e-policy or an invoice) and the e-policy check."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from petcover.domain.money import DecimalRules
from petcover.models.base import Model

RequestKind = Literal["e_policy", "invoice"]
RequestQueue = Literal["underwriting", "finance"]
RequestStatus = Literal["open", "generated", "sent"]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
# Which queue works on each kind: an e-policy is underwriting's, an invoice finance's.
QUEUE_OF: dict[str, RequestQueue] = {"e_policy": "underwriting", "invoice": "finance"}


class _In(Model):
    model_config = ConfigDict(extra="forbid")


class ServiceRequestCreate(_In):
    policy_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40)]
    kind: RequestKind
    email: Email | None = None
    postal_address: Text | None = None
    invoice_title: Text | None = Field(None, description="Invoice: whom it is made out to")
    note: Text | None = None

    @model_validator(mode="after")
    def _reachable(self) -> ServiceRequestCreate:
        """An e-policy needs an email; any request needs an email or a postal address."""
        if self.kind == "e_policy" and not self.email:
            raise ValueError("an e-policy is sent by email: give the customer's email")
        if not self.email and not self.postal_address:
            raise ValueError("give an email or a postal address to send it to")
        return self


class InvoiceRecord(_In):
    number: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9-]{6,40}$")]
    amount: Annotated[Decimal, DecimalRules(2, max_digits=12, low="gt0")]
    issued_on: date
    sent_by: Literal["email", "post"]
    tracking_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None


class EPolicyDoc(Model):
    code: str
    document_key: str
    sha256: str
    language: str
    generated_at: datetime
    sent_at: datetime | None = None
    sent_to: str | None = None
    message_id: str | None = None


class RequestStep(Model):
    at: datetime
    action: str
    by: str
    note: str | None = None


class ServiceRequest(Model):
    request_id: str
    policy_number: str
    channel_id: str
    kind: RequestKind
    queue: RequestQueue
    status: RequestStatus
    version: int
    email: str | None = None
    postal_address: str | None = None
    invoice_title: str | None = None
    note: str | None = None
    created_at: datetime
    created_by: str
    e_policy: EPolicyDoc | None = None
    invoice: InvoiceRecord | None = None
    steps: list[RequestStep]


class ServiceRequestQuery(_In):
    queue: RequestQueue | None = Field(None, description="The queue to list (with status); or give policy_number")
    status: RequestStatus = "open"
    policy_number: str | None = Field(None, description="Every request of one policy, newest first")
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ServiceRequestList(Model):
    items: list[ServiceRequest]
    cursor: str | None = None


class EPolicyCheck(Model):
    """What anyone holding an e-policy can check with its verification code."""

    valid: bool = True
    code: str
    policy_number: str
    product_name: str
    plan_name: str
    start_date: date
    end_date: date
    policy_status: str = Field(description="The policy's status now")
    issued_at: datetime
    sha256: str = Field(description="SHA-256 of the PDF as generated: a copy whose hash differs was altered")
