"""Every minute: alert once for each work order past due at its current node."""

from typing import Any

from petcover.consumers import scheduled
from petcover.ports import Ports
from petcover.services.sla import check


@scheduled("SlaChecked")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, int]:
    return check.check_breaches(p)
