"""1st of the month, 02:00 Asia/Shanghai: assess every provider's previous month (re-runnable)."""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services.quality import assessment


@scheduled_job("QualityAssessed")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return assessment.run_job(p, event)
