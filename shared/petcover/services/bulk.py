"""Bulk issue: a file of existing accounts becomes one SQS message per row, each underwritten
idempotently by account (the row's order id is derived from job and row, so a redelivered row
finds its policy instead of issuing twice). Progress is counted on the job item in the same
transaction that issues or rejects the row.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

from pydantic import ValidationError

from petcover.domain import calendar
from petcover.errors import Conflict, DomainError, InvalidInput, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.bulk import BulkIssueRequest, BulkJob, BulkRow, RejectedRow, UploadSlot
from petcover.models.policies import Holder, UnderwriteRequest
from petcover.ports import Ports, Put
from petcover.recent import Recent
from petcover.repositories import bulk as bulk_repo
from petcover.services import audit, catalog, outbox, policies

SPLIT_BATCH = 500
# What a row needs of its job (channel, product, plan) never changes after the job starts, so a
# warm container reads it once per job, not once per row.
_jobs: Recent[BulkJob] = Recent(seconds=3600)


def upload_slot(p: Ports, fmt: str = "csv") -> UploadSlot:
    if p.blobs is None:
        raise InvalidInput("Uploads are not available here.", code="UPLOADS_UNAVAILABLE")
    upload_id = uuid.uuid4().hex
    ctype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    url = p.blobs.presign_put(bulk_repo.upload_key(upload_id), ctype)
    return UploadSlot(upload_id=upload_id, upload_url=url, content_type=ctype, expires_in=900)


def _store_source(p: Ports, job_id: str, req: BulkIssueRequest) -> str:
    """The blob key of the job's file: the inline content is stored, an upload must be there."""
    assert p.blobs is not None
    if req.content is not None:
        p.blobs.put_bytes(bulk_repo.input_file_key(job_id), req.content.encode(), "text/plain")
        return bulk_repo.input_file_key(job_id)
    source = bulk_repo.upload_key(str(req.upload_id))
    if p.blobs.get_bytes(source) is None:
        raise NotFound("Nothing was uploaded for this upload_id.", code="UPLOAD_NOT_FOUND")
    return source


def start(p: Ports, who: Principal, req: BulkIssueRequest) -> BulkJob:
    if (req.upload_id is None) == (req.content is None):
        raise InvalidInput("Give either upload_id or content.", code="FILE_REQUIRED")
    catalog.authorize(p, req.channel_id, req.product_code, "underwrite", calendar.today(p.now()))
    catalog.on_sale(p, req.product_code).plan(req.plan_code)
    job_id = uuid.uuid4().hex[:16]
    source = _store_source(p, job_id, req)
    job = BulkJob(
        job_id=job_id,
        channel_id=req.channel_id,
        product_code=req.product_code,
        plan_code=req.plan_code,
        format=req.format,
        status="splitting",
        created_at=p.now(),
    )
    # The job, its audit record and its split message (outbox) commit together.
    split_message, oid = outbox.message(p, queue="bulk", body={"type": "split", "job_id": job_id})
    record = audit.entry(
        p, who, "bulk_issue", job_id, "start", after=job.model_dump(mode="json", exclude={"rejected_rows"})
    )
    p.store.transact([Put(bulk_repo.job_item(job, source)), split_message, record])
    outbox.release(p, oid)
    return job


def parse(fmt: str, text: str) -> list[dict[str, Any]]:
    if fmt == "jsonl":
        rows = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:
                rows.append({"_error": "not valid JSON"})
        return rows
    return [dict(r) for r in csv.DictReader(io.StringIO(text))]


def split(p: Ports, job_id: str) -> int:
    """Read the file and fan out one message per row (idempotent: re-sending a row is harmless)."""
    job, item = bulk_repo.load_job(p.store, job_id)
    assert p.blobs is not None
    raw = p.blobs.get_bytes(bulk_repo.source_of(item))
    rows = parse(job.format, (raw or b"").decode("utf-8-sig"))
    for start_at in range(0, len(rows), SPLIT_BATCH):
        chunk = rows[start_at : start_at + SPLIT_BATCH]
        p.publisher.send(
            "bulk", [{"type": "row", "job_id": job_id, "index": start_at + i, "row": r} for i, r in enumerate(chunk)]
        )
    if item.get("state") == "splitting":
        bulk_repo.start_running(p.store, job_id, len(rows))
    return len(rows)


def _reasons(exc: DomainError) -> list[str]:
    """The field messages of a validation error, else its message."""
    details = exc.details if isinstance(exc.details, list) else []
    return [d.get("message", str(d)) for d in details if isinstance(d, dict)] or [exc.message]


def issue_row(p: Ports, job_id: str, index: int, row: dict[str, Any]) -> str:
    job = _jobs.get(p.store, job_id, lambda: bulk_repo.load_job(p.store, job_id, consistent=False)[0])
    try:
        parsed = BulkRow.model_validate(row)
        contract = catalog.authorize(p, job.channel_id, job.product_code, "underwrite", calendar.today(p.now()))
        product = catalog.on_sale(p, job.product_code)
        req = UnderwriteRequest(
            product_code=job.product_code,
            plan_code=job.plan_code,
            insured={"insured_id": parsed.account_id},  # type: ignore[arg-type]
            channel_order_id=f"bulk-{job_id}-{index}",
            holder=Holder(name=parsed.holder_name, phone=parsed.phone),
        )
        policies.issue(p, job.channel_id, contract, product, req, extra_ops=[*bulk_repo.row_issued(job_id, index)])
        return "issued"
    except Conflict as exc:
        if exc.code == "DUPLICATE_ORDER":
            return "already issued"  # a redelivered row: its policy and count exist already
        return _reject(p, job_id, index, row, [exc.message])
    except ValidationError as exc:
        return _reject(p, job_id, index, row, [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()])
    except DomainError as exc:
        return _reject(p, job_id, index, row, _reasons(exc))


def _reject(p: Ports, job_id: str, index: int, row: dict[str, Any], reasons: list[str]) -> str:
    rejected = RejectedRow(
        index=index, account_id=str(row.get("account_id")) if row.get("account_id") else None, reasons=reasons
    )
    try:
        p.store.transact(bulk_repo.row_rejected(job_id, rejected))
    except StaleWrite:
        return "already recorded"
    return "rejected"


def status(p: Ports, job_id: str, cursor: str | None = None) -> BulkJob:
    job, item = bulk_repo.load_job(p.store, job_id)
    accepted, issued, rejected = bulk_repo.counts(item)
    state = item.get("state", "splitting")
    if state == "running" and issued + rejected >= accepted:
        state = "done"
    rows, next_cursor = bulk_repo.rejected_rows(p.store, job_id, cursor)
    return job.model_copy(
        update={
            "status": state,
            "accepted": accepted,
            "issued": issued,
            "rejected": rejected,
            "rejected_rows": rows,
            "next_cursor": next_cursor,
        }
    )
