"""Idempotency records an operation writes inside its own transaction.

  ONCE#{sha256(scope, operation, key)} / ONCE   the first answer to a request, kept 24 h (TTL)

Powertools writes its record around the operation (an INPROGRESS put before, a COMPLETED update
after: two round trips). An operation whose answer is known before it commits puts this record in
its business transaction instead, so the record exists exactly when the change does.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from petcover.ports import Item, Put, Store

KEPT_FOR = timedelta(hours=24)


def key(scope: str, operation: str, idempotency_key: str) -> tuple[str, str]:
    digest = hashlib.sha256(f"{scope}\n{operation}\n{idempotency_key}".encode()).hexdigest()
    return f"ONCE#{digest}", "ONCE"


def record(at: tuple[str, str], body_sha: str, response: dict[str, Any], now: datetime) -> Put:
    """The record of a first answer; refused (the transaction with it) when one exists."""
    item: Item = {
        "pk": at[0],
        "sk": at[1],
        "kind": "once",
        "ref": body_sha,  # the request body's hash: the same key with another body is refused
        "data": json.dumps(response, separators=(",", ":"), default=str),
        "expires_at": int((now + KEPT_FOR).timestamp()),
    }
    return Put(item, if_absent=True)


def find(store: Store, at: tuple[str, str], now: datetime) -> tuple[str, dict[str, Any]] | None:
    """(body hash, first answer) of a record still kept; TTL deletes lag, so expiry is checked here."""
    item = store.get(*at)
    if item is None or int(item.get("expires_at", 0)) <= now.timestamp():
        return None
    return str(item["ref"]), json.loads(item["data"])
