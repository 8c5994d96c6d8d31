"""Daily schedule: shipped services not confirmed within AUTO_RECEIPT_DAYS are received automatically."""

from typing import Any

from petcover.consumers import scheduled
from petcover.ports import Ports
from petcover.services import fulfilment


@scheduled("AutoReceiptsConfirmed")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return fulfilment.auto_receipts(p)
