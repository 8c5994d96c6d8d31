"""00:30 Asia/Shanghai: yesterday's stock and consumption per warehouse region (CSV, JSON, PNG chart).

A back-fill can name the day in the event: {"date": "2026-11-21"}.
"""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services.commodities import report


@scheduled_job("StockDailyReport")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return report.daily_stock_report(p, report.day_from_event(event))
