"""Batch booking: up to 1,000 bookings in one request, each queued and booked on its own.

A batch is keyed by channel + Idempotency-Key, and each item by batch + index, so a retried
request or a redelivered message never books twice. Every item ends with one result (booked or
rejected) and moves one of the batch's counters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from petcover.errors import DomainError, InvalidInput, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.fulfilment import (
    Appointment,
    BatchAccepted,
    BatchItem,
    BatchItemResult,
    BatchRequest,
    BatchStatus,
    BookingRequest,
)
from petcover.ports import Ports, Put
from petcover.recent import Recent
from petcover.repositories import appointments as records
from petcover.services import outbox
from petcover.services.fulfilment import booking, ownership
from petcover.services.fulfilment.transitions import DISPATCH_QUEUE, TRANSIENT_CODES

BOOKING_QUEUE = "booking"
MAX_BATCH_ITEMS = 1000
# A batch's owner never changes: a warm consumer reads it once for all the items it books.
_owners: Recent[str] = Recent(seconds=3600)


def batch_id_for(channel_id: str, idempotency_key: str) -> str:
    """Same channel + Idempotency-Key -> same batch: a retried request never books twice."""
    return "BT" + hashlib.sha256(f"{channel_id}#{idempotency_key}".encode()).hexdigest()[:20].upper()


def batch_appointment_id(batch_id: str, index: int) -> str:
    """The business key of a batch item: the same item always books the same appointment id."""
    return "AP" + hashlib.sha256(f"{batch_id}#{index}".encode()).hexdigest()[:18].upper()


def _invalid(exc: ValidationError) -> dict[str, Any]:
    details = [
        {"field": ".".join(str(x) for x in e["loc"]) or "item", "message": e["msg"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    return {"code": "VALIDATION_FAILED", "message": "Some fields are invalid.", "details": details}


def _error_of(exc: DomainError) -> dict[str, Any]:
    err: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.details is not None:
        err["details"] = exc.details
    return err


def _result(
    batch_id: str,
    index: int,
    status: str,
    now: datetime,
    *,
    appointment_id: str | None = None,
    policy_number: str | None = None,
    error: dict[str, Any] | None = None,
    dispatch_queued: bool = False,
) -> Put:
    result = BatchItemResult(
        index=index,
        status=status,  # type: ignore[arg-type]
        appointment_id=appointment_id,
        policy_number=policy_number,
        error=error,
        at=now,
    )
    return records.batch_result(batch_id, result, dispatch_queued=dispatch_queued)


def create_batch(p: Ports, who: Principal, req: BatchRequest, idempotency_key: str) -> BatchAccepted:
    """POST /appointment-batches: each item checked and queued on its own (one SQS message each)."""
    if len(req.items) > MAX_BATCH_ITEMS:
        raise InvalidInput(f"A batch holds at most {MAX_BATCH_ITEMS} items.", code="BATCH_TOO_LARGE")
    batch_id = batch_id_for(who.id, idempotency_key)
    now = p.now()
    valid: list[tuple[int, dict[str, Any]]] = []
    invalid: list[tuple[int, dict[str, Any]]] = []
    for i, raw in enumerate(req.items):
        try:
            BatchItem.model_validate(raw)
            valid.append((i, raw))
        except ValidationError as exc:
            invalid.append((i, _invalid(exc)))
    replayed = False
    try:
        batch = records.new_batch(batch_id, who.id, len(req.items), len(valid), len(invalid), now)
        p.store.put(batch, if_absent=True)
    except StaleWrite:
        replayed = True  # the same request again (after a partial failure): resume, nothing twice
    for i, err in invalid:
        with suppress(StaleWrite):
            p.store.put(_result(batch_id, i, "rejected", now, error=err).item, if_absent=True)
    p.publisher.send(
        BOOKING_QUEUE, [{"batch_id": batch_id, "index": i, "channel_id": who.id, "item": raw} for i, raw in valid]
    )
    return BatchAccepted(
        batch_id=batch_id, total=len(req.items), accepted=len(valid), rejected=len(invalid), replayed=replayed
    )


def _book_item(
    p: Ports, batch_id: str, index: int, channel_id: str, raw: Any, now: datetime
) -> tuple[Appointment, bool]:
    """Book the item with its business key; its result, the issued count, the dispatch request and
    the booked webhook are in the same write (the messages through the outbox)."""
    item = BatchItem.model_validate(raw)
    req = BookingRequest.model_validate(item.model_dump(exclude={"policy_number"}))
    aid = batch_appointment_id(batch_id, index)
    booked = _result(
        batch_id, index, "booked", now, appointment_id=aid, policy_number=item.policy_number, dispatch_queued=True
    )
    ids: list[str] = []
    doc, _, replayed = booking.book(
        p,
        Principal("channel", channel_id),
        item.policy_number,
        req,
        appointment_id=aid,
        batch=f"{batch_id}#{index}",
        extra_ops=[booked, records.batch_counted(batch_id, "issued")],
        extra_for=lambda d, _left: booking.announce_booking(p, d, ids, {"batch_id": batch_id, "index": index}),
        check_contract=True,  # the contract may have changed since the batch was accepted
    )
    if not replayed:
        outbox.release(p, *ids)
    return doc, replayed


def process_batch_item(p: Ports, message: Mapping[str, Any], *, last_attempt: bool = False) -> str:
    """BookingQueue consumer: book one batch item, once (business key: batch id + index).

    Returns booked / rejected / duplicate. A business refusal is a result (rejected), not an
    error; a transient failure raises so SQS retries it, and on the last attempt it is recorded
    as rejected (BOOKING_FAILED) so the batch still completes.
    """
    batch_id, index = str(message["batch_id"]), int(message["index"])
    existing = records.find_batch_result(p, batch_id, index)
    if existing is not None:
        if existing.get("state") == "booked" and int(existing.get("n", 0)) == 0:
            # booked before the dispatch request was written with the booking, and its send had failed
            _dispatch_batch_item(p, batch_appointment_id(batch_id, index), batch_id, index)
        return "duplicate"
    channel_id = _owners.get(p.store, batch_id, lambda: _owner(p, batch_id))
    now = p.now()
    try:
        _, replayed = _book_item(p, batch_id, index, channel_id, message["item"], now)
    except ValidationError as exc:
        return _reject(p, batch_id, index, now, _invalid(exc))
    except DomainError as exc:
        if exc.status >= 500 or exc.code in TRANSIENT_CODES:
            if last_attempt:
                return _reject(p, batch_id, index, now, {"code": "BOOKING_FAILED", "message": exc.message})
            raise
        return _reject(p, batch_id, index, now, _error_of(exc), policy_number=message["item"].get("policy_number"))
    except Exception as exc:
        if last_attempt:
            return _reject(p, batch_id, index, now, {"code": "BOOKING_FAILED", "message": str(exc)[:300]})
        raise
    if replayed:
        return "duplicate"
    return "booked"


def _owner(p: Ports, batch_id: str) -> str:
    batch = records.find_batch(p, batch_id)
    if batch is None:  # raised, so never kept: the next delivery reads again
        raise NotFound(f"Batch {batch_id} does not exist.", code="BATCH_NOT_FOUND")
    return str(batch["owner"])


def _dispatch_batch_item(p: Ports, appointment_id: str, batch_id: str, index: int) -> None:
    doc = ownership.load(p, appointment_id)
    if doc.status == "pending" and doc.risk_review is None:  # held for a risk review: dispatched once approved
        p.publisher.send(DISPATCH_QUEUE, [booking.dispatch_message(doc)])
    records.mark_batch_item_dispatched(p, batch_id, index)


def _reject(
    p: Ports, batch_id: str, index: int, now: datetime, error: dict[str, Any], policy_number: Any = None
) -> str:
    put = _result(
        batch_id,
        index,
        "rejected",
        now,
        policy_number=policy_number if isinstance(policy_number, str) else None,
        error=error,
    )
    try:
        p.store.transact([put, records.batch_counted(batch_id, "rejected")])
    except StaleWrite:
        return "duplicate"
    return "rejected"


def batch_status(
    p: Ports, who: Principal, batch_id: str, *, limit: int = 100, cursor: str | None = None
) -> BatchStatus:
    """GET /appointment-batches/{batchId}: counters and per-item results (the channel's own only)."""
    item = records.find_batch(p, batch_id)
    if item is None or (not who.is_staff and item.get("owner") != who.id):
        raise NotFound(f"Batch {batch_id} does not exist.", code="BATCH_NOT_FOUND")
    return records.batch_status(p, batch_id, item, limit=limit, cursor=cursor)
