"""The delivery log: one entry per queued / attempt / held / dead / replay step, read per object."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from petcover.models.webhooks import DeliveryLog, DeliveryStatus
from petcover.ports import Item, Ports
from petcover.repositories import webhooks as repo


def append(p: Ports, d: repo.Delivery, at: datetime, status: DeliveryStatus, **fields: Any) -> None:
    p.store.put(entry_item(d, at, status, **fields))


def entry_item(d: repo.Delivery, at: datetime, status: DeliveryStatus, **fields: Any) -> Item:
    """A log entry as an item, for a transaction of its own or of the change it logs."""
    entry = repo.log_entry(d, at, status, **fields)
    return repo.log_item(entry, repo.log_sk(entry.at, uuid.uuid4().hex[:8]), at)


def delivery_log(
    p: Ports, object_type: str, object_id: str, *, limit: int = 50, cursor: str | None = None
) -> DeliveryLog:
    """Every queued / attempt / held / dead / replay entry for one object, newest first (one page)."""
    page = p.store.query(
        repo.log_pk(object_type, object_id), index=repo.LOG_INDEX, limit=limit, cursor=cursor, descending=True
    )
    return DeliveryLog(items=repo.log_entries(page.items), cursor=page.cursor)
