"""Shortly after midnight Asia/Shanghai: yesterday's timeliness per provider and region (CSV, JSON, PNG).

A back-fill can name the day in the event: {"date": "2026-11-21"}.
"""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services import sla_monitor


@scheduled_job("SlaDailyReport")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return sla_monitor.daily_timeliness(p, sla_monitor.day_from_event(event))
