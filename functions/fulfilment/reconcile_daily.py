"""Daily schedule: reconcile yesterday's quota activity; mismatches are stored and sent to ops chat."""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services import quota


@scheduled_job("QuotaReconciled")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return quota.reconcile_and_alert(p).model_dump(mode="json")
