"""Keys and items of a bulk issue: the job, one marker per row handled, and the uploaded file.

  BULK#{job} / JOB           the job: state, ref = the file's blob key, accepted / issued / rejected
                             counters (ADD in the transaction that issues or rejects a row)
  BULK#{job} / ROW#{index}   a row handled: a bare marker once issued, the reasons once rejected
Blobs: bulk/uploads/{upload_id} (a pre-signed upload), bulk/{job}/input (a file sent inline).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from petcover.errors import NotFound
from petcover.ports import Item, Put, Store, Update

if TYPE_CHECKING:
    from petcover.models.bulk import BulkJob, RejectedRow

ROW_PREFIX = "ROW#"


def job_pk(job_id: str) -> str:
    return f"BULK#{job_id}"


def job_key(job_id: str) -> tuple[str, str]:
    return job_pk(job_id), "JOB"


def row_key(job_id: str, index: int) -> tuple[str, str]:
    return job_pk(job_id), f"{ROW_PREFIX}{index:07d}"


def input_file_key(job_id: str) -> str:
    return f"bulk/{job_id}/input"


def upload_key(upload_id: str) -> str:
    return f"bulk/uploads/{upload_id}"


def job_item(job: BulkJob, source: str) -> Item:
    pk, sk = job_key(job.job_id)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "bulk_job",
        "state": job.status,
        "ref": source,
        "accepted": 0,
        "issued": 0,
        "rejected": 0,
        "data": job.model_dump_json(),
    }


def load_job(store: Store, job_id: str, *, consistent: bool = True) -> tuple[BulkJob, Item]:
    from petcover.models.bulk import BulkJob

    item = store.get(*job_key(job_id), consistent=consistent)
    if item is None:
        raise NotFound(f"Bulk job {job_id} does not exist.", code="BULK_JOB_NOT_FOUND")
    return BulkJob.model_validate(json.loads(item["data"])), item


def source_of(item: Item) -> str:
    """The blob key of the job's file."""
    return str(item["ref"])


def start_running(store: Store, job_id: str, total: int) -> None:
    """Splitting done: every row is out; only the first split moves the job on (else StaleWrite)."""
    store.update(
        *job_key(job_id),
        set={"state": "running", "accepted": total, "total": total},
        expect=[("state", "=", "splitting")],
    )


def row_issued(job_id: str, index: int) -> list[Put | Update]:
    """Written with the row's policy: the row is marked (once only) and counted as issued."""
    pk, sk = row_key(job_id, index)
    return [Put({"pk": pk, "sk": sk, "kind": "bulk_row"}, if_absent=True), Update(*job_key(job_id), add={"issued": 1})]


def row_rejected(job_id: str, rejected: RejectedRow) -> list[Put | Update]:
    """The row's reasons (once only) and the job's rejected count, in one transaction."""
    pk, sk = row_key(job_id, rejected.index)
    item = {"pk": pk, "sk": sk, "kind": "bulk_row", "state": "rejected", "data": rejected.model_dump_json()}
    return [Put(item, if_absent=True), Update(*job_key(job_id), add={"rejected": 1})]


def counts(item: Item) -> tuple[int, int, int]:
    """Rows accepted, issued and rejected so far."""
    accepted, issued, rejected = (int(item.get(k, 0)) for k in ("accepted", "issued", "rejected"))
    return accepted, issued, rejected


def rejected_rows(store: Store, job_id: str, cursor: str | None) -> tuple[list[RejectedRow], str | None]:
    """One page of handled rows, keeping the rejected ones; the cursor continues the listing."""
    from petcover.models.bulk import RejectedRow

    page = store.query(job_pk(job_id), sk_prefix=ROW_PREFIX, limit=200, cursor=cursor)
    rows = [RejectedRow.model_validate(json.loads(i["data"])) for i in page.items if i.get("state") == "rejected"]
    return rows, page.cursor
