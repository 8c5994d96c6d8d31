"""Time as SLA monitoring stores it: UTC ISO stamps (local days come from ``domain.calendar``)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()
