"""The business calendar: what day it is, and when a policy's cover starts and ends.

Every part of the product asks here. A business day is a date in the business time zone (the
one setting ``BUSINESS_TIMEZONE``, Asia/Shanghai by default), never the UTC date of an instant:
at 07:59 in Shanghai the UTC date is still yesterday's. Callers pass the instant (the clock's
``now``, an event's timestamp); nothing here reads a clock.

A policy's term is ``[start_date 00:00, end_date 00:00)`` on the business clock: it covers
``(end_date - start_date).days`` whole days (the plan's ``term_days``), a renewal starting on
the old ``end_date`` follows it without a gap or an overlap, and the refund engine counts the
same days. The expiry run just after midnight of ``end_date`` expires it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from petcover.config import get_settings

ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=8)
def _zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone() -> tzinfo:
    """The business time zone."""
    return _zone_named(get_settings().timezone)


def day_of(at: datetime) -> date:
    """The business day an instant falls on."""
    if at.tzinfo is None:
        raise ValueError(f"the business day of a naive datetime is unknown: {at!r}")
    return at.astimezone(zone()).date()


def today(now: datetime) -> date:
    """The business day it is at ``now`` (the clock's reading)."""
    return day_of(now)


def yesterday(now: datetime) -> date:
    return day_of(now) - ONE_DAY


def month_of(at: datetime) -> str:
    """The business month an instant falls in, as ``YYYY-MM`` (statements, monthly counters)."""
    return day_of(at).strftime("%Y-%m")


def local(at: datetime) -> datetime:
    """The instant on the business wall clock (report names, summaries)."""
    return at.astimezone(zone())


def start_of(day: date) -> datetime:
    """00:00 of a business day, as an aware instant."""
    return datetime.combine(day, time.min, tzinfo=zone())


def end_of(day: date) -> datetime:
    """24:00 of a business day: the first instant that is no longer that day."""
    return start_of(day + ONE_DAY)


def days_after(last: date, through: date) -> list[date]:
    """The business days after ``last`` up to and including ``through`` (none when caught up)."""
    return [last + ONE_DAY * n for n in range(1, (through - last).days + 1)]


@dataclass(frozen=True)
class Term:
    """A policy's cover as instants: ``starts_at`` included, ``ends_at`` excluded."""

    starts_at: datetime
    ends_at: datetime

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


def term(start_date: date, end_date: date) -> Term:
    """The cover of a policy: from 00:00 of ``start_date`` up to 00:00 of ``end_date``."""
    return Term(starts_at=start_of(start_date), ends_at=start_of(end_date))


def covers_day(start_date: date, end_date: date, day: date) -> bool:
    """Whether a business day (an incident's, say) lies within a policy's term."""
    return start_date <= day < end_date


def last_ended_day(now: datetime) -> date:
    """The latest ``end_date`` whose term is over at ``now``: its policies are due to expire."""
    return today(now)


def previous_month(now: datetime) -> str:
    """The business month before the one ``now`` falls in, as ``YYYY-MM`` (monthly assessments)."""
    first = day_of(now).replace(day=1)
    return (first - ONE_DAY).strftime("%Y-%m")
