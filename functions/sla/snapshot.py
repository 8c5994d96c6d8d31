"""Every 30 minutes: a snapshot of work in flight (counts, time left before the next due)."""

from typing import Any

from petcover.consumers import scheduled
from petcover.ports import Ports
from petcover.services.sla import snapshot


@scheduled("SlaSnapshotTaken")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return snapshot.take_snapshot(p)
