"""API shapes of bulk issue (free account-security cover for existing accounts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from petcover.models.base import Model

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]


class UploadSlot(Model):
    upload_id: str
    upload_url: str
    content_type: str
    expires_in: int


class BulkIssueRequest(Model):
    model_config = ConfigDict(extra="forbid")

    channel_id: Slug
    product_code: Slug
    plan_code: Slug
    format: Literal["csv", "jsonl"] = "csv"
    upload_id: str | None = Field(None, description="From POST /ops/bulk-issues/uploads (large files).")
    content: str | None = Field(None, description="The file inline (small files, under the 256 KB body limit).")


class BulkRow(Model):
    model_config = ConfigDict(extra="ignore")

    account_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    holder_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    phone: str | None = None


class RejectedRow(Model):
    index: int
    account_id: str | None
    reasons: list[str]


class BulkJob(Model):
    job_id: str
    channel_id: str
    product_code: str
    plan_code: str
    format: str
    status: Literal["splitting", "running", "done"]
    accepted: int = 0
    issued: int = 0
    rejected: int = 0
    created_at: datetime
    rejected_rows: list[RejectedRow] = Field(default_factory=list)
    next_cursor: str | None = None
