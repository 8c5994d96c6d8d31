"""The SLA report index and its files: list the reports of a kind, serve one file, store a new one.

The files live in the document bucket under reports/{kind}/...; the index items hold their keys.
``daily``, ``summary`` and ``snapshot`` produce the reports.
"""

from __future__ import annotations

import base64
import re

from petcover.errors import InvalidInput, NotFound
from petcover.models.sla import ReportFile, ReportFormat, ReportKind, ReportList, ReportQuery
from petcover.ports import BlobStore, Ports
from petcover.repositories import sla as keys
from petcover.repositories.sla import StoredReport

REPORT_KINDS = ("daily", "snapshot", "summary", "stock")
REPORT_ID = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{4})?$")
CONTENT_TYPES: dict[str, str] = {"csv": "text/csv", "json": "application/json", "png": "image/png"}


def report_files(p: Ports) -> BlobStore:
    if p.blobs is None:
        raise RuntimeError("SLA reports need a blob store (the document bucket)")
    return p.blobs


def store_report(p: Ports, report: StoredReport, expires_at: int | None = None) -> None:
    """Index a report whose files are already in the bucket (``expires_at``: epoch seconds, TTL)."""
    p.store.put(keys.report_item(report, expires_at))


def list_reports(p: Ports, q: ReportQuery) -> ReportList:
    page = p.store.query(
        keys.report_pk(q.kind),
        sk_prefix=q.date,
        descending=q.date is None,
        limit=q.limit,
        cursor=q.cursor,
    )
    return ReportList(items=[keys.load_report(i).entry() for i in page.items], cursor=page.cursor)


def _check_path(kind: str, report_id: str, fmt: str) -> None:
    errors = []
    if kind not in REPORT_KINDS:
        errors.append({"field": "kind", "message": "must be daily, snapshot, summary or stock"})
    if not REPORT_ID.match(report_id):
        errors.append({"field": "date", "message": "must be YYYY-MM-DD (snapshots: YYYY-MM-DDTHHMM)"})
    if fmt not in CONTENT_TYPES:
        errors.append({"field": "format", "message": "must be csv, json or png"})
    if errors:
        raise InvalidInput("Some path parameters are invalid.", code="VALIDATION_FAILED", details=errors)


def get_report(p: Ports, kind: str, report_id: str, fmt: str) -> ReportFile:
    """One report file: CSV or JSON as text, the PNG chart base64-encoded with its legend."""
    _check_path(kind, report_id, fmt)
    item = p.store.get(keys.report_pk(kind), report_id, consistent=False)
    if item is None:
        raise NotFound(f"There is no {kind} report {report_id}.", code="REPORT_NOT_FOUND")
    report = keys.load_report(item)
    key = report.keys.get(fmt)
    if key is None:
        raise NotFound(
            f"The {kind} report {report_id} has no {fmt} file.",
            code="REPORT_FORMAT_NOT_AVAILABLE",
            details={"formats": report.formats},
        )
    content = report_files(p).get_bytes(key)
    if content is None:
        raise NotFound(f"The {fmt} file of the {kind} report {report_id} is missing.", code="REPORT_FILE_MISSING")
    out_format: ReportFormat = fmt  # type: ignore[assignment]
    out_kind: ReportKind = kind  # type: ignore[assignment]
    if fmt == "png":
        return ReportFile(
            kind=out_kind,
            id=report_id,
            format=out_format,
            content_type=CONTENT_TYPES[fmt],
            key=key,
            base64=base64.b64encode(content).decode("ascii"),
            legend=report.legend,
        )
    return ReportFile(
        kind=out_kind,
        id=report_id,
        format=out_format,
        content_type=CONTENT_TYPES[fmt],
        key=key,
        text=content.decode("utf-8"),
    )
