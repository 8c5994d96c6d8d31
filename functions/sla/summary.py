"""22:00 Asia/Shanghai: the open work orders to each provider's group and the ops group, kept as CSV."""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services.sla import summary


@scheduled_job("SlaSummarySent")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return summary.nightly_summary(p)
