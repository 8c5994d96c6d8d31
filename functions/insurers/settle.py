"""Every minute: ask the insurer of each policy still waiting for its answer, and settle it."""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services import policies


@scheduled_job("InsurerPoliciesSettled")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, int]:
    return policies.settle_pending(p).model_dump()
