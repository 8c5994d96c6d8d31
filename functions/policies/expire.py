"""Daily schedule: policies whose term has ended become expired, every missed day caught up."""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services import policy_expiry


@scheduled_job("PoliciesExpired")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return policy_expiry.expire_due(p)
