"""00:40 Asia/Shanghai: yesterday's financial reconciliation (report JSON + CSV, ops alert on differences).

A back-fill can name the day in the event: {"date": "2026-11-21"}.
"""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services.money import reconciliation


@scheduled_job("FinanceReconciled")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return reconciliation.reconcile(p, reconciliation.day_from_event(event, p.now()))
