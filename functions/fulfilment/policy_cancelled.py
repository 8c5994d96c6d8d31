"""EventBridge rule PolicyCancelled: cancel the policy's open appointments, release their holds."""

from typing import Any

from petcover.consumers import scheduled
from petcover.ports import Ports
from petcover.services.fulfilment import closing


@scheduled("PolicyAppointmentsCancelled")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    detail = event.get("detail") or {}
    return closing.cancel_for_policy(p, str(detail["policy_number"]), detail.get("reason"))
