"""API shapes of insurer channels: insurer endpoints, a product's routing rules, a policy's insurer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from petcover.domain.insurer_routing import CandidateView, Reason, RoutingRules
from petcover.models.base import Model

AttemptOutcome = Literal["issued", "rejected", "unknown", "not_found"]


class _In(Model):
    model_config = ConfigDict(extra="forbid")


class InsurerAttempt(Model):
    """One call to an insurer about this policy (underwrite or query) and what it told us."""

    insurer_id: str
    call: Literal["underwrite", "query"]
    at: datetime
    outcome: AttemptOutcome
    detail: str | None = None
    latency_ms: int | None = None


class InsurerAssignment(Model):
    """The insurer that underwrites (or underwrote) a policy, and why that one."""

    insurer_id: str
    reason: Reason
    explanation: list[str]
    fallbacks: list[str] = Field(
        default_factory=list, description="Still to try, in order, if this one does not issue."
    )
    insurer_policy_number: str | None = None
    attempts: list[InsurerAttempt] = Field(default_factory=list)
    settled_at: datetime | None = None
    rules_version: int | None = None


class EndpointInput(_In):
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=500)] = Field(
        description="Base URL of the insurer's API (https); we POST to {url}/underwrite, /query and /claims."
    )
    timeout_ms: Annotated[int, Field(ge=50, le=10_000)] = 3000
    retries: Annotated[int, Field(ge=0, le=3)] = Field(
        1, description="Further attempts after no answer or a 5xx, with the same idempotency key."
    )
    new_key: bool = Field(False, description="Make a new signing key (the first save always does).")


class EndpointSaved(Model):
    insurer_id: str
    url: str
    timeout_ms: int
    retries: int
    key_id: str
    secret: str | None = Field(
        None, description="Shown once, when a key is made: the insurer verifies our calls with it."
    )
    updated_at: datetime


class RoutingSaved(Model):
    product_code: str
    version: int
    rules: RoutingRules
    updated_at: datetime
    updated_by: str


class InsurerState(Model):
    insurer_id: str
    healthy: bool
    failures: int = 0
    open_until: datetime | None = None


class RoutingView(Model):
    product_code: str
    version: int | None = None
    rules: RoutingRules | None = Field(None, description="None: the product is underwritten in-house.")
    month: str
    candidates: list[CandidateView] = Field(default_factory=list)
    health: list[InsurerState] = Field(default_factory=list)


class SettleReport(Model):
    checked: int
    issued: int
    failed: int
    still_pending: int
    already_final: int
