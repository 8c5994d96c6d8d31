"""Shortly after midnight Asia/Shanghai: yesterday's timeliness per provider and region (CSV, JSON, PNG).

A back-fill can name the day in the event: {"date": "2026-11-21"}.
"""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services.sla import daily


@scheduled_job("SlaDailyReport")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return daily.daily_timeliness(p, daily.day_from_event(event))
