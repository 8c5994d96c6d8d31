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

from petcover.errors import Conflict, DomainError, InvalidInput, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.bulk import BulkIssueRequest, BulkJob, BulkRow, RejectedRow, UploadSlot
from petcover.models.policies import Holder, UnderwriteRequest
from petcover.ports import Ports, Put, Update
from petcover.services import audit, catalog, policies

SPLIT_BATCH = 500


def _job_key(job_id: str) -> tuple[str, str]:
    return f"BULK#{job_id}", "JOB"


def _file_key(job_id: str) -> str:
    return f"bulk/{job_id}/input"


def upload_slot(p: Ports, fmt: str = "csv") -> UploadSlot:
    if p.blobs is None:
        raise InvalidInput("Uploads are not available here.", code="UPLOADS_UNAVAILABLE")
    upload_id = uuid.uuid4().hex
    ctype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    url = p.blobs.presign_put(f"bulk/uploads/{upload_id}", ctype)
    return UploadSlot(upload_id=upload_id, upload_url=url, content_type=ctype, expires_in=900)


def start(p: Ports, who: Principal, req: BulkIssueRequest) -> BulkJob:
    if (req.upload_id is None) == (req.content is None):
        raise InvalidInput("Give either upload_id or content.", code="FILE_REQUIRED")
    catalog.authorize(p, req.channel_id, req.product_code, "underwrite", p.now().date())
    catalog.on_sale(p, req.product_code).plan(req.plan_code)
    assert p.blobs is not None
    job_id = uuid.uuid4().hex[:16]
    if req.content is not None:
        p.blobs.put_bytes(_file_key(job_id), req.content.encode(), "text/plain")
        source = _file_key(job_id)
    else:
        source = f"bulk/uploads/{req.upload_id}"
        if p.blobs.get_bytes(source) is None:
            raise NotFound("Nothing was uploaded for this upload_id.", code="UPLOAD_NOT_FOUND")
    job = BulkJob(
        job_id=job_id,
        channel_id=req.channel_id,
        product_code=req.product_code,
        plan_code=req.plan_code,
        format=req.format,
        status="splitting",
        created_at=p.now(),
    )
    pk, sk = _job_key(job_id)
    p.store.put(
        {
            "pk": pk,
            "sk": sk,
            "kind": "bulk_job",
            "state": "splitting",
            "ref": source,
            "accepted": 0,
            "issued": 0,
            "rejected": 0,
            "data": job.model_dump_json(),
        }
    )
    p.publisher.send("bulk", [{"type": "split", "job_id": job_id}])
    audit.record(p, who, "bulk_issue", job_id, "start", after=job.model_dump(mode="json", exclude={"rejected_rows"}))
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
    pk, sk = _job_key(job_id)
    item = p.store.get(pk, sk)
    if item is None:
        raise NotFound(f"Bulk job {job_id} does not exist.", code="BULK_JOB_NOT_FOUND")
    assert p.blobs is not None
    raw = p.blobs.get_bytes(str(item["ref"]))
    rows = parse(json.loads(item["data"])["format"], (raw or b"").decode("utf-8-sig"))
    for start_at in range(0, len(rows), SPLIT_BATCH):
        chunk = rows[start_at : start_at + SPLIT_BATCH]
        p.publisher.send(
            "bulk", [{"type": "row", "job_id": job_id, "index": start_at + i, "row": r} for i, r in enumerate(chunk)]
        )
    if item.get("state") == "splitting":
        p.store.update(
            pk,
            sk,
            set={"state": "running", "accepted": len(rows), "total": len(rows)},
            expect=[("state", "=", "splitting")],
        )
    return len(rows)


def issue_row(p: Ports, job_id: str, index: int, row: dict[str, Any]) -> str:
    pk, sk = _job_key(job_id)
    job_item = p.store.get(pk, sk, consistent=False)
    if job_item is None:
        raise NotFound(f"Bulk job {job_id} does not exist.", code="BULK_JOB_NOT_FOUND")
    job = json.loads(job_item["data"])
    marker = Put({"pk": pk, "sk": f"ROW#{index:07d}", "kind": "bulk_row"}, if_absent=True)
    count_issued = Update(pk, sk, add={"issued": 1})
    try:
        parsed = BulkRow.model_validate(row)
        contract = catalog.authorize(p, job["channel_id"], job["product_code"], "underwrite", p.now().date())
        product = catalog.on_sale(p, job["product_code"])
        req = UnderwriteRequest(
            product_code=job["product_code"],
            plan_code=job["plan_code"],
            insured={"insured_id": parsed.account_id},  # type: ignore[arg-type]
            channel_order_id=f"bulk-{job_id}-{index}",
            holder=Holder(name=parsed.holder_name, phone=parsed.phone),
        )
        policies.issue(p, job["channel_id"], contract, product, req, extra_ops=[marker, count_issued])
        return "issued"
    except Conflict as exc:
        if exc.code == "DUPLICATE_ORDER":
            return "already issued"  # a redelivered row: its policy and count exist already
        return _reject(p, job_id, index, row, [exc.message])
    except ValidationError as exc:
        return _reject(p, job_id, index, row, [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()])
    except DomainError as exc:
        details = exc.details if isinstance(exc.details, list) else []
        reasons = [d.get("message", str(d)) for d in details if isinstance(d, dict)] or [exc.message]
        return _reject(p, job_id, index, row, reasons)


def _reject(p: Ports, job_id: str, index: int, row: dict[str, Any], reasons: list[str]) -> str:
    pk, sk = _job_key(job_id)
    rejected = RejectedRow(
        index=index, account_id=str(row.get("account_id")) if row.get("account_id") else None, reasons=reasons
    )
    try:
        p.store.transact(
            [
                Put(
                    {
                        "pk": pk,
                        "sk": f"ROW#{index:07d}",
                        "kind": "bulk_row",
                        "state": "rejected",
                        "data": rejected.model_dump_json(),
                    },
                    if_absent=True,
                ),
                Update(pk, sk, add={"rejected": 1}),
            ]
        )
    except StaleWrite:
        return "already recorded"
    return "rejected"


def status(p: Ports, job_id: str, cursor: str | None = None) -> BulkJob:
    pk, sk = _job_key(job_id)
    item = p.store.get(pk, sk)
    if item is None:
        raise NotFound(f"Bulk job {job_id} does not exist.", code="BULK_JOB_NOT_FOUND")
    job = BulkJob.model_validate(json.loads(item["data"]))
    accepted, issued, rejected = (int(item.get(k, 0)) for k in ("accepted", "issued", "rejected"))
    state = item.get("state", "splitting")
    if state == "running" and issued + rejected >= accepted:
        state = "done"
    page = p.store.query(pk, sk_prefix="ROW#", limit=200, cursor=cursor)
    rows = [RejectedRow.model_validate(json.loads(i["data"])) for i in page.items if i.get("state") == "rejected"]
    return job.model_copy(
        update={
            "status": state,
            "accepted": accepted,
            "issued": issued,
            "rejected": rejected,
            "rejected_rows": rows,
            "next_cursor": page.cursor,
        }
    )
