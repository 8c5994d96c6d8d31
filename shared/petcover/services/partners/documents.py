"""Qualification documents: a provider gets a pre-signed PUT per file, then names its ``file_key``
in the configuration; only files issued to that provider are accepted there.
"""

from __future__ import annotations

import re

from petcover.domain.partner_config import require_permission
from petcover.errors import Forbidden, Unavailable
from petcover.identity import Principal
from petcover.models.partners import DocumentUpload, DocumentUploadRequest
from petcover.ports import Ports, Put
from petcover.repositories import partners as keys
from petcover.services import audit
from petcover.services.partners.accounts import ENTITY, caller, new_id

UPLOAD_SECONDS = 900


def document_upload(p: Ports, principal: Principal, body: DocumentUploadRequest) -> DocumentUpload:
    """A pre-signed PUT for one qualification file; its ``file_key`` goes into the configuration."""
    acc = caller(p, principal)
    if acc.kind != "provider":
        raise Forbidden("Only providers upload qualification documents.", code="WRONG_PARTNER_KIND")
    require_permission(acc, "maintain_qualifications")
    if p.blobs is None:
        raise Unavailable("Document storage is not available; retry later.")
    document_id = new_id("doc", p)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", body.file_name).strip("._")[:80] or "file"
    file_key = f"partners/{acc.id}/documents/{document_id}/{safe}"
    url = p.blobs.presign_put(file_key, body.content_type, UPLOAD_SECONDS)
    record = {
        "document_id": document_id,
        "file_key": file_key,
        "type": body.type,
        "file_name": body.file_name,
        "content_type": body.content_type,
        "created_at": p.now().isoformat(),
    }
    p.store.transact(
        [
            Put(keys.document_item(acc.id, record), if_absent=True),
            audit.entry(p, principal, ENTITY, acc.id, "document_upload_issued", after=record),
        ]
    )
    return DocumentUpload(
        document_id=document_id,
        file_key=file_key,
        upload_url=url,
        headers={"Content-Type": body.content_type},
        expires_in=UPLOAD_SECONDS,
    )


def own_upload(p: Ports, partner_id: str, file_key: str) -> bool:
    """Whether ``file_key`` is a file issued to this partner by ``document_upload``."""
    parts = file_key.split("/")
    if len(parts) != 5 or parts[0] != "partners" or parts[1] != partner_id or parts[2] != "documents":
        return False
    item = p.store.get(*keys.document_key(partner_id, parts[3]))
    return item is not None and keys.document_file_key(item) == file_key
