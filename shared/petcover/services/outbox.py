"""Transactional outbox: a message is written in the same transaction as the state it announces.

After the commit the caller releases it (publish, then delete). If the process dies in between,
the message is still in the table and the minute sweeper publishes it; every consumer is
idempotent by business key, so a message published twice moves nothing twice.

  OUTBOX#{id} / OUTBOX   gsi3 OUTBOX / {created_at}#{id}: the sweeper's bounded Query
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from petcover.observability import logger
from petcover.ports import Ports, Put

SWEEP_AFTER = timedelta(seconds=60)


def message(
    p: Ports, *, body: dict[str, Any], queue: str | None = None, detail_type: str | None = None
) -> tuple[Put, str]:
    """The write to add to the caller's transaction, and the id to release after the commit."""
    if (queue is None) == (detail_type is None):
        raise ValueError("an outbox message goes to a queue or to the event bus")
    oid = uuid.uuid4().hex
    now = p.now()
    item = {
        "pk": f"OUTBOX#{oid}",
        "sk": "OUTBOX",
        "kind": "outbox",
        "gsi3pk": "OUTBOX",
        "gsi3sk": f"{now.isoformat()}#{oid}",
        "data": json.dumps({"queue": queue, "detail_type": detail_type, "body": body}, default=str),
    }
    return Put(item, if_absent=True), oid


def _publish(p: Ports, item: dict[str, Any]) -> None:
    d = json.loads(item["data"])
    if d["queue"]:
        p.publisher.send(d["queue"], [d["body"]])
    else:
        p.publisher.emit(d["detail_type"], [d["body"]])
    p.store.delete(item["pk"], item["sk"])


def release(p: Ports, *ids: str) -> bool:
    """Publish now; on failure the message stays for the sweeper (True when all went out)."""
    ok = True
    for oid in ids:
        item = p.store.get(f"OUTBOX#{oid}", "OUTBOX")
        if item is None:
            continue  # the sweeper was faster
        try:
            _publish(p, item)
        except Exception:
            ok = False
            logger.exception("outbox message left for the sweeper", extra={"outbox_id": oid})
    return ok


def sweep(p: Ports, limit: int = 500) -> dict[str, int]:
    """Publish messages older than a minute whose release never happened (a crash or an outage)."""
    cutoff = (p.now() - SWEEP_AFTER).isoformat()
    page = p.store.query("OUTBOX", index="gsi3", sk_lte=cutoff, limit=limit)
    sent = failed = 0
    for item in page.items:
        try:
            _publish(p, item)
            sent += 1
        except Exception:
            failed += 1
            logger.exception("outbox sweep could not publish", extra={"outbox": item["pk"]})
    if failed:
        raise RuntimeError(f"{failed} outbox messages could not be published; the next sweep retries")
    return {"sent": sent}
