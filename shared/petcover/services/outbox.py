"""Transactional outbox: a message is written in the same transaction as the state it announces.

After the commit the caller releases it: the writer publishes what it wrote from memory and
deletes the items in one round trip. If the process dies in between, the message is still in the
table and the minute sweeper publishes it; every consumer is idempotent by business key, so a
message published twice moves nothing twice.

The sweeper leaves a message to its writer for ``SWEEP_AFTER`` (three times an API function's
timeout) and holds a message before it publishes it (a conditional write, ``CLAIM_FOR``), so two
sweeps do not both publish it; a holder that dies lets its hold run out. The writer does not hold:
it releases within its own timeout, long before a sweep looks, and what remains is at-least-once
(a writer slower than ``SWEEP_AFTER``, or dead after the publish, before the delete), which the
consumers' business keys absorb. A message is published under the correlation id of the request
that wrote it, whoever publishes it.
Keys and items: ``petcover.repositories.outbox``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, cast

from petcover.errors import StaleWrite
from petcover.observability import correlation_id, count, logger, set_correlation_id
from petcover.ports import Delete, Item, Ports, Put, Update
from petcover.repositories import outbox as repo

SWEEP_AFTER = timedelta(seconds=60)  # API functions time out after 20 s
# A hold outlasts any publish by far, and runs out before the sweeper looks at a message, so a
# holder that died between its hold and its publish delays nothing beyond the next sweep.
CLAIM_FOR = timedelta(seconds=30)
MAX_BODY_BYTES = 240 * 1024  # SQS and EventBridge take 256 KB per message, attributes included
TRANSACT_LIMIT = 100  # DynamoDB's items per TransactWriteItems
# What this process wrote and has not released yet, by id: released from memory, not read back.
# Bounded, because a message whose transaction failed is never released.
_written: dict[str, Item] = {}
_WRITTEN_MAX = 1000


def message(
    p: Ports, *, body: dict[str, Any], queue: str | None = None, detail_type: str | None = None
) -> tuple[Put, str]:
    """The write to add to the caller's transaction, and the id to release after the commit."""
    if (queue is None) == (detail_type is None):
        raise ValueError("an outbox message goes to a queue or to the event bus")
    size = len(json.dumps(body, default=str, separators=(",", ":")).encode())
    if size > MAX_BODY_BYTES:  # refused before the commit: after it, nothing could send it
        raise ValueError(f"an outbox message body is {size} bytes; the limit is {MAX_BODY_BYTES}")
    oid = uuid.uuid4().hex
    msg = repo.OutboxMessage(queue=queue, detail_type=detail_type, body=body, correlation_id=correlation_id())
    item = repo.message_item(oid, p.now(), msg)
    if len(_written) >= _WRITTEN_MAX:
        _written.pop(next(iter(_written)))
    _written[oid] = item
    return Put(item, if_absent=True), oid


@contextmanager
def _published_as(cid: str | None) -> Iterator[None]:
    """Publish (and log) under the writer's correlation id, then go back to ours."""
    if not cid:
        yield
        return
    ours = correlation_id()
    set_correlation_id(cid)
    try:
        yield
    finally:
        set_correlation_id(ours)


def _claim(p: Ports, key: tuple[str, str]) -> Item | None:
    """Hold the message; None when it is gone (published) or another publisher holds it."""
    now = p.now()
    op = repo.claim(key, int(now.timestamp()), int((now + CLAIM_FOR).timestamp()))
    try:
        return p.store.update(op.pk, op.sk, set=op.set, expect=op.expect, must_exist=op.must_exist)
    except StaleWrite:
        return None


def _send(p: Ports, item: Item, *, swept: bool = False) -> None:
    msg = repo.load_message(item)
    with _published_as(msg.correlation_id):
        if swept:  # logged under the writer's correlation id: the request's trail shows it
            logger.info("outbox message swept", extra={"outbox": item["pk"], "queue": msg.queue or msg.detail_type})
        if msg.queue:
            p.publisher.send(msg.queue, [msg.body])
        else:
            p.publisher.emit(cast(str, msg.detail_type), [msg.body])


def _publish(p: Ports, item: Item, *, swept: bool = False) -> None:
    _send(p, item, swept=swept)
    p.store.delete(*repo.key_of(item))


def _delete_all(p: Ports, items: list[Item]) -> None:
    """The published messages' items, in one round trip per hundred."""
    if len(items) == 1:
        p.store.delete(*repo.key_of(items[0]))
        return
    for start in range(0, len(items), TRANSACT_LIMIT):
        p.store.transact([Delete(*repo.key_of(i)) for i in items[start : start + TRANSACT_LIMIT]])


def _failed(p: Ports, item: Item, what: str) -> None:
    count("OutboxPublishFailed")
    logger.exception(what, extra={"outbox": item["pk"], "attempts": int(item.get("attempts") or 0) + 1})
    op: Update = repo.failed_attempt(repo.key_of(item))
    try:
        p.store.update(op.pk, op.sk, set=op.set, add=op.add, must_exist=op.must_exist)
    except Exception:  # the hold runs out by itself
        logger.exception("outbox hold not dropped", extra={"outbox": item["pk"]})


def release(p: Ports, *ids: str) -> bool:
    """Publish now; on failure the message stays for the sweeper (True when all went out)."""
    ok = True
    sent: list[Item] = []
    for oid in ids:
        item = _written.pop(oid, None) or _claim(p, repo.outbox_key(oid))
        if item is None:
            continue  # the sweeper was faster
        try:
            _send(p, item)
            sent.append(item)
        except Exception:
            ok = False
            _failed(p, item, "outbox message left for the sweeper")
    if sent:
        try:
            _delete_all(p, sent)
        except Exception:  # published: a sweep publishes them again, which the consumers absorb
            logger.exception("outbox items not deleted after publishing", extra={"count": len(sent)})
    return ok


def sweep(p: Ports, limit: int = 500) -> dict[str, int]:
    """Publish messages older than a minute whose release never happened (a crash or an outage).

    One bounded page per index shard per run on purpose (``repo.pending``): the next minute's run
    takes the rest. A message another publisher holds is left to it.
    """
    cutoff = (p.now() - SWEEP_AFTER).isoformat()
    sent = failed = 0
    for found in repo.pending(p.store, older_than=cutoff, limit=limit):
        item = _claim(p, repo.key_of(found))
        if item is None:
            continue
        try:
            _publish(p, item, swept=True)
            sent += 1
        except Exception:
            failed += 1
            _failed(p, item, "outbox sweep could not publish")
    if failed:
        raise RuntimeError(f"{failed} outbox messages could not be published; the next sweep retries")
    return {"sent": sent}
