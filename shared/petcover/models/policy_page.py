"""API shape of a policy's page in the staff console."""

from __future__ import annotations

from pydantic import Field

from petcover.domain.money import LedgerEntry
from petcover.models.base import Model
from petcover.models.claims import Claim
from petcover.models.fulfilment import Appointment
from petcover.models.policies import Policy, PolicyVersion
from petcover.models.webhooks import DeliveryLogEntry


class ObjectWebhooks(Model):
    object_type: str
    object_id: str
    deliveries: list[DeliveryLogEntry] = Field(description="The latest delivery log entries, newest first")
    log_path: str = Field(description="The whole delivery log of the object")


class PolicyPage(Model):
    policy: Policy = Field(description="With its quota balances (benefits)")
    versions: list[PolicyVersion]
    ledger: list[LedgerEntry] = Field(description="Money events, newest first")
    ledger_cursor: str | None = None
    appointments: list[Appointment]
    appointments_cursor: str | None = None
    claims: list[Claim] = Field(description="Newest first")
    claims_cursor: str | None = None
    webhooks: list[ObjectWebhooks] = Field(description="Channel webhooks of the appointments and claims shown")
