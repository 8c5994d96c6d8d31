"""The daily expiry run: every business day not processed yet, caught up from a watermark."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from petcover.domain import calendar
from petcover.errors import StaleWrite
from petcover.observability import logger
from petcover.ports import Item, Ports
from petcover.repositories import policies as policy_repo

FIRST_RUN_LOOKBACK_DAYS = 366
EXPIRY_WORKERS = 8


def _expire_ending_on(p: Ports, day: date) -> int:
    """Expires the still-active policies whose term ended on ``day``; returns how many it expired."""

    def expire(item: Item) -> int:
        if item.get("state") != "active":
            return 0
        try:
            policy_repo.expire(p.store, item)
        except StaleWrite:
            return 0  # changed meanwhile (cancelled, or expired by an overlapping run)
        return 1

    with ThreadPoolExecutor(EXPIRY_WORKERS) as pool:
        return sum(pool.map(expire, policy_repo.ending_on(p.store, day)))


def expire_due(p: Ports) -> dict[str, Any]:
    """Daily: every business day not processed yet, up to the last one whose policies have ended.

    A term ends at 00:00 of its ``end_date`` (``domain.calendar``): the run at 00:10 that day
    expires it. The watermark holds the last day done and moves after each day, so a missed night is caught
    up by the next run and a run that stopped half-way starts again at the day it was on.
    """
    now = p.now()
    through = calendar.last_ended_day(now)
    last = policy_repo.expiry_watermark(p.store) or through - timedelta(days=FIRST_RUN_LOOKBACK_DAYS)
    days: list[dict[str, Any]] = []
    for day in calendar.days_after(last, through):
        expired = _expire_ending_on(p, day)
        policy_repo.expiry_done(p.store, day, expired, now)
        logger.info("policies expired", extra={"day": day.isoformat(), "expired": expired})
        days.append({"day": day.isoformat(), "expired": expired})
    total = sum(d["expired"] for d in days)
    logger.info("policy expiry run", extra={"through": through.isoformat(), "days": len(days), "expired": total})
    return {"through": through.isoformat(), "days": days, "expired": total}
