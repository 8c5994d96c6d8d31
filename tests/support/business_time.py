"""Instants on the Shanghai wall clock around a business midnight, and policies with known terms.

The four times every business-calendar test walks through: 23:59 on the day before ``day``,
then 00:00, 07:59 and 08:00 on ``day``. Between 00:00 and 08:00 the UTC date is still the day
before, which is where a UTC "today" goes wrong.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from petcover.domain.catalog import InsuredFacts
from petcover.identity import Principal
from petcover.models.policies import Holder, Policy, UnderwriteRequest
from petcover.ports import Ports
from petcover.services import policies
from tests.support.clock import Clock
from tests.support.fixtures import catalogue

SHANGHAI = ZoneInfo("Asia/Shanghai")
TIMES = ("23:59", "00:00", "07:59", "08:00")
SHOP = Principal("channel", "shop-a")


def local(day: date, hh: int = 0, mm: int = 0) -> datetime:
    """The instant it is ``hh:mm`` on ``day`` in Shanghai, read in UTC as the production clock reads it."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SHANGHAI).astimezone(UTC)


def around(day: date, clock_time: str) -> datetime:
    """``clock_time`` (one of TIMES) at the midnight that starts ``day``: 23:59 is the minute before it."""
    if clock_time == "23:59":
        return local(day - timedelta(days=1), 23, 59)
    hh, mm = (int(x) for x in clock_time.split(":"))
    return local(day, hh, mm)


def business_day(day: date, clock_time: str) -> date:
    """The business day it is at ``around(day, clock_time)``."""
    return day - timedelta(days=1) if clock_time == "23:59" else day


def world(p: Ports) -> Clock:
    """Products published and contracts signed in 2020; the clock is installed on ``p``."""
    clock = Clock(local(date(2020, 6, 1), 10))
    p.clock = clock
    catalogue(p, ("shop-a", "shop-b"))
    return clock


def issue_on(
    p: Ports,
    clock: Clock,
    start: date,
    *,
    order: str,
    pet: str,
    product: str = "pet-health",
    plan: str = "basic",
    who: Principal = SHOP,
) -> Policy:
    """A policy underwritten at 10:00 business time on ``start`` (its default start date)."""
    saved = clock.now
    clock.set(local(start, 10))
    facts = {"insured_id": pet}
    if product == "pet-health":
        facts.update(species="dog", breed_size="small", age_months=30, region="310115")
    try:
        return policies.underwrite(
            p,
            who,
            UnderwriteRequest(
                product_code=product,
                plan_code=plan,
                insured=InsuredFacts.model_validate(facts),
                channel_order_id=order,
                holder=Holder(name="Li Lei"),
            ),
        )
    finally:
        clock.set(saved)
