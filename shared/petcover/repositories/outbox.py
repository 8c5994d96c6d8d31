"""Keys and items of the transactional outbox: one item per message until it is published.

OUTBOX#{id} / OUTBOX   gsi3 OUTBOX / {created_at}#{id}: the sweeper's bounded Query
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from petcover.ports import Item

PENDING_PK = "OUTBOX"  # gsi3 partition of every unpublished message
PENDING_INDEX = "gsi3"


def outbox_key(outbox_id: str) -> tuple[str, str]:
    return f"OUTBOX#{outbox_id}", "OUTBOX"


@dataclass(frozen=True)
class OutboxMessage:
    """Where the message goes: a queue, or the event bus under ``detail_type``."""

    queue: str | None
    detail_type: str | None
    body: Any


def message_item(outbox_id: str, created_at: datetime, message: OutboxMessage) -> Item:
    pk, sk = outbox_key(outbox_id)
    data = {"queue": message.queue, "detail_type": message.detail_type, "body": message.body}
    return {
        "pk": pk,
        "sk": sk,
        "kind": "outbox",
        "gsi3pk": PENDING_PK,
        "gsi3sk": f"{created_at.isoformat()}#{outbox_id}",
        "data": json.dumps(data, default=str),
    }


def load_message(item: Item) -> OutboxMessage:
    d = json.loads(item["data"])
    return OutboxMessage(queue=d["queue"], detail_type=d["detail_type"], body=d["body"])
