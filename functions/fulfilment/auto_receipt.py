"""Daily schedule: shipped services not confirmed within AUTO_RECEIPT_DAYS are received automatically."""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services.fulfilment import closing


@scheduled_job("AutoReceiptsConfirmed")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return closing.auto_receipts(p)
