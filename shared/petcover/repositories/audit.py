"""Keys and items of the audit trail: one item per change, findable by entity, actor or request.

AUDIT#{entity_type}#{entity_id} / {at}#{id}     the record (newest last)
    gsi1 AUDITBY#{actor} / {at}#{id}            by actor
    gsi2 AUDITREQ#{request_id} / {at}#{id}      by request (when the change had one)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from petcover.ports import Item
from petcover.repositories import base

if TYPE_CHECKING:
    from petcover.models.common import AuditRecord

ACTOR_INDEX = "gsi1"
REQUEST_INDEX = "gsi2"


def entity_pk(entity_type: str, entity_id: str) -> str:
    return f"AUDIT#{entity_type}#{entity_id}"


def actor_pk(actor: str) -> str:
    return f"AUDITBY#{actor}"


def request_pk(request_id: str) -> str:
    return f"AUDITREQ#{request_id}"


def record_sk(at: str, record_id: str) -> str:
    return f"{at}#{record_id}"


def record_item(rec: AuditRecord) -> Item:
    sk = record_sk(rec.at, rec.id)
    item: dict[str, Any] = {
        "pk": entity_pk(rec.entity_type, rec.entity_id),
        "sk": sk,
        "gsi1pk": actor_pk(rec.actor),
        "gsi1sk": sk,
        "kind": "audit",
        "data": rec.model_dump_json(),
    }
    if rec.request_id:
        item["gsi2pk"] = request_pk(rec.request_id)
        item["gsi2sk"] = sk
    return item


def load_records(items: list[Item]) -> list[AuditRecord]:
    from petcover.models.common import AuditRecord

    return [base.load(AuditRecord, i) for i in items]
