"""Keys and items of the transactional outbox: one item per message until it is published.

OUTBOX#{id} / OUTBOX   gsi3 OUTBOX / {created_at}#{id}: the sweeper's bounded Query
    fence      epoch seconds until which a releaser or the sweeper holds the message (absent: free)
    attempts   failed publish attempts so far
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from petcover.ports import Item, Update

PENDING_PK = "OUTBOX"  # gsi3 partition of every unpublished message
PENDING_INDEX = "gsi3"


def outbox_key(outbox_id: str) -> tuple[str, str]:
    return f"OUTBOX#{outbox_id}", "OUTBOX"


@dataclass(frozen=True)
class OutboxMessage:
    """Where the message goes: a queue, or the event bus under ``detail_type``.

    ``correlation_id`` is the id of the request that wrote it: the message is published under it,
    so whoever publishes it (the writer after its commit, or the sweeper) is followed alike.
    """

    queue: str | None
    detail_type: str | None
    body: Any
    correlation_id: str | None = None


def message_item(outbox_id: str, created_at: datetime, message: OutboxMessage) -> Item:
    pk, sk = outbox_key(outbox_id)
    data = {
        "queue": message.queue,
        "detail_type": message.detail_type,
        "body": message.body,
        "correlation_id": message.correlation_id,
    }
    return {
        "pk": pk,
        "sk": sk,
        "kind": "outbox",
        "gsi3pk": PENDING_PK,
        "gsi3sk": f"{created_at.isoformat()}#{outbox_id}",
        "data": json.dumps(data, default=str, separators=(",", ":")),
    }


def load_message(item: Item) -> OutboxMessage:
    d = json.loads(item["data"])
    return OutboxMessage(
        queue=d["queue"], detail_type=d["detail_type"], body=d["body"], correlation_id=d.get("correlation_id")
    )


def claim(item_key: tuple[str, str], now_epoch: int, until_epoch: int) -> Update:
    """Hold the message until ``until_epoch``; refused (StaleWrite) if it is gone or held by another."""
    return Update(*item_key, set={"fence": until_epoch}, expect=[("fence", "<?", now_epoch)], must_exist=True)


def failed_attempt(item_key: tuple[str, str]) -> Update:
    """One more failed publish; the hold is dropped so the next sweep retries at once."""
    return Update(*item_key, set={"fence": None}, add={"attempts": 1}, must_exist=True)


def key_of(item: Item) -> tuple[str, str]:
    return str(item["pk"]), str(item["sk"])
