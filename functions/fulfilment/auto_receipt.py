"""Daily schedule: shipped services not confirmed within AUTO_RECEIPT_DAYS are received automatically."""

from typing import Any

from petcover.consumers import scheduled
from petcover.ports import Ports
from petcover.services.fulfilment import closing


@scheduled("AutoReceiptsConfirmed")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return closing.auto_receipts(p)
