"""Keys and items of the transactional outbox: one item per message until it is published.

OUTBOX#{id} / OUTBOX   gsi3 OUTBOX#{shard:02d} / {created_at}#{id}: the sweeper's bounded Queries
    fence      epoch seconds until which a releaser or the sweeper holds the message (absent: free)
    attempts   failed publish attempts so far

Every committed change that announces itself writes one message and deletes it after publishing,
two writes to the index partition; at 100x the documented volume that is several thousand index
writes a second, and a partition takes about 1,000 (with a time-ordered sort key DynamoDB cannot
split it by sort key either). So the index partition is one of ``PENDING_SHARDS``, chosen from the
message id (the id is random, so the shards fill evenly), and the sweeper reads every shard.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from petcover.ports import Item, Store, Update

PENDING_PK = "OUTBOX"  # gsi3 partitions of the unpublished messages: OUTBOX#00 .. OUTBOX#15
PENDING_INDEX = "gsi3"
PENDING_SHARDS = 16  # docs/CAPACITY.md: outbox writes at 100x the documented volume


def outbox_key(outbox_id: str) -> tuple[str, str]:
    return f"OUTBOX#{outbox_id}", "OUTBOX"


def pending_shard(outbox_id: str) -> int:
    """The index shard of a message: a stable function of its id (ids are uuid4 hex)."""
    return zlib.crc32(outbox_id.encode()) % PENDING_SHARDS


def pending_pk(shard: int) -> str:
    """The gsi3 partition of one shard of the unpublished messages."""
    return f"{PENDING_PK}#{shard % PENDING_SHARDS:02d}"


def pending_pks() -> list[str]:
    """Every shard's partition: what a sweep reads (one Query each)."""
    return [pending_pk(n) for n in range(PENDING_SHARDS)]


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
        "gsi3pk": pending_pk(pending_shard(outbox_id)),
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


def pending(store: Store, *, older_than: str | None = None, limit: int = 500) -> list[Item]:
    """Unpublished messages (created at or before ``older_than``, an ISO time), at most ``limit``:
    one bounded Query per shard, each taking its share of ``limit``."""
    per_shard = max(1, -(-limit // PENDING_SHARDS))
    found: list[Item] = []
    for pk in pending_pks():
        found += store.query(pk, index=PENDING_INDEX, sk_lte=older_than, limit=per_shard).items
    return found
