"""Transactional outbox: a message is written in the same transaction as the state it announces.

After the commit the caller releases it (publish, then delete). If the process dies in between,
the message is still in the table and the minute sweeper publishes it; every consumer is
idempotent by business key, so a message published twice moves nothing twice.
Keys and items: ``petcover.repositories.outbox``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, cast

from petcover.observability import logger
from petcover.ports import Item, Ports, Put
from petcover.repositories import outbox as repo

SWEEP_AFTER = timedelta(seconds=60)


def message(
    p: Ports, *, body: dict[str, Any], queue: str | None = None, detail_type: str | None = None
) -> tuple[Put, str]:
    """The write to add to the caller's transaction, and the id to release after the commit."""
    if (queue is None) == (detail_type is None):
        raise ValueError("an outbox message goes to a queue or to the event bus")
    oid = uuid.uuid4().hex
    item = repo.message_item(oid, p.now(), repo.OutboxMessage(queue=queue, detail_type=detail_type, body=body))
    return Put(item, if_absent=True), oid


def _publish(p: Ports, item: Item) -> None:
    msg = repo.load_message(item)
    if msg.queue:
        p.publisher.send(msg.queue, [msg.body])
    else:
        p.publisher.emit(cast(str, msg.detail_type), [msg.body])
    p.store.delete(item["pk"], item["sk"])


def release(p: Ports, *ids: str) -> bool:
    """Publish now; on failure the message stays for the sweeper (True when all went out)."""
    ok = True
    for oid in ids:
        item = p.store.get(*repo.outbox_key(oid))
        if item is None:
            continue  # the sweeper was faster
        try:
            _publish(p, item)
        except Exception:
            ok = False
            logger.exception("outbox message left for the sweeper", extra={"outbox_id": oid})
    return ok


def sweep(p: Ports, limit: int = 500) -> dict[str, int]:
    """Publish messages older than a minute whose release never happened (a crash or an outage).

    One bounded page per run on purpose: the next minute's run takes the rest.
    """
    cutoff = (p.now() - SWEEP_AFTER).isoformat()
    page = p.store.query(repo.PENDING_PK, index=repo.PENDING_INDEX, sk_lte=cutoff, limit=limit)
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
