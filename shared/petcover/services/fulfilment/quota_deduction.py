"""The QuotaQueue consumer's body: deduct a fulfilled appointment's use, alerting ops before the DLQ."""

from __future__ import annotations

from typing import Any

from petcover.ports import Ports
from petcover.services import quota
from petcover.services.fulfilment.transitions import alert_ops


def deduct_quota(p: Ports, message: dict[str, Any], *, receive_count: int, message_id: str = "") -> str:
    """Deduct (``quota.deduct``); on the last attempt alert ops before the DLQ takes the message."""
    try:
        return quota.deduct(p, message)
    except Exception as exc:
        if quota.is_last_attempt(receive_count):
            aid = message.get("appointment_id", "?")
            alert_ops(
                p,
                f"Quota deduction for appointment {aid} failed {receive_count} times and goes to the QuotaDLQ: "
                f"{getattr(exc, 'message', str(exc))[:300]}. Fix the cause, then POST /ops/quota/redrive.",
                f"quota-dlq:{aid}:{message_id}",
            )
        raise
