"""EventBridge rule PolicyCancelled: cancel the policy's open appointments, release their holds."""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services.fulfilment import closing


@scheduled_job("PolicyAppointmentsCancelled")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    detail = event.get("detail") or {}
    return closing.cancel_for_policy(p, str(detail["policy_number"]), detail.get("reason"))
