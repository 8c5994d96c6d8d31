"""Every minute: publish outbox messages whose release after the commit never happened."""

from typing import Any

from petcover.consumers import scheduled
from petcover.ports import Ports
from petcover.services import outbox


@scheduled("OutboxSwept")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, int]:
    return outbox.sweep(p)
