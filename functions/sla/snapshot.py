"""Every 30 minutes: a snapshot of work in flight (counts, time left before the next due)."""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services.sla import snapshot


@scheduled_job("SlaSnapshotTaken")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return snapshot.take_snapshot(p)
