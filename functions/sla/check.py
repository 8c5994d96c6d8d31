"""Every minute: alert once for each work order past due at its current node."""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services.sla import check


@scheduled_job("SlaChecked")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, int]:
    return check.check_breaches(p)
