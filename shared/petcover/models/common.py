"""Shapes shared by several areas: audit records and API key descriptions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class AuditRecord(BaseModel):
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


class AuditList(BaseModel):
    items: list[AuditRecord]


class IssuedKey(BaseModel):
    key_id: str
    secret: str
    owner_id: str
    owner_kind: str
    note: str = "The secret is shown once. Store it now; two keys may be active during rotation."


class KeyInfo(BaseModel):
    key_id: str
    owner_id: str
    owner_kind: str
    status: str
    created_at: str


class KeyInfoList(BaseModel):
    items: list[KeyInfo]
