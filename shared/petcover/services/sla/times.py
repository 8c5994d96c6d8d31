"""Time as SLA monitoring shows and stores it: local days in the business timezone, UTC ISO stamps."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from petcover.config import get_settings


def business_tz() -> tzinfo:
    return ZoneInfo(get_settings().timezone)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()
