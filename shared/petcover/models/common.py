"""Shapes shared by several areas: audit records, API key descriptions, the reason of a staff action."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, StringConstraints

from petcover.models.base import Model

# Why staff close, revoke, terminate, delist or reject something: kept in the audit record.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class ReasonBody(Model):
    """An action that closes, terminates or delists needs a reason (it goes into the audit record)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ReasonQuery(Model):
    """A revocation (DELETE, no body) gives its reason as a query parameter."""

    reason: Reason


class AuditRecord(Model):
    id: str
    at: str
    actor: str
    entity_type: str
    entity_id: str
    action: str
    before: Any = None
    after: Any = None
    request_id: str | None = None
    reason: str | None = None


class AuditList(Model):
    items: list[AuditRecord]


class IssuedKey(Model):
    key_id: str
    secret: str
    owner_id: str
    owner_kind: str
    note: str = "The secret is shown once. Store it now; two keys may be active during rotation."


class KeyInfo(Model):
    key_id: str
    owner_id: str
    owner_kind: str
    status: str
    created_at: str


class KeyInfoList(Model):
    items: list[KeyInfo]
