"""Every minute: publish outbox messages whose release after the commit never happened."""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services import outbox


@scheduled_job("OutboxSwept")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, int]:
    return outbox.sweep(p)
