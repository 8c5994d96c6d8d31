"""Shapes shared by several areas."""

from __future__ import annotations

from pydantic import BaseModel

from petcover.services.audit import AuditRecord
from petcover.services.credentials import KeyInfo


class AuditList(BaseModel):
    items: list[AuditRecord]


class KeyInfoList(BaseModel):
    items: list[KeyInfo]
