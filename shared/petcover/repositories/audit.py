"""Keys and items of the audit trail: one item per change, findable by entity, actor or request.

AUDIT#{entity_type}#{entity_id} / {at}#{id}     the record (newest last)
    gsi1 AUDITBY#{actor} / {at}#{id}            by actor
    gsi2 AUDITREQ#{request_id} / {at}#{id}      by request (when the change had one)
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from petcover.ports import Item
from petcover.repositories import base

ACTOR_INDEX = "gsi1"
REQUEST_INDEX = "gsi2"

M = TypeVar("M", bound=BaseModel)


class Recorded(Protocol):
    """What an audit record carries into its keys (``services.audit.AuditRecord``)."""

    @property
    def id(self) -> str: ...
    @property
    def at(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def entity_type(self) -> str: ...
    @property
    def entity_id(self) -> str: ...
    @property
    def request_id(self) -> str | None: ...

    def model_dump_json(self) -> str: ...


def entity_pk(entity_type: str, entity_id: str) -> str:
    return f"AUDIT#{entity_type}#{entity_id}"


def actor_pk(actor: str) -> str:
    return f"AUDITBY#{actor}"


def request_pk(request_id: str) -> str:
    return f"AUDITREQ#{request_id}"


def record_sk(at: str, record_id: str) -> str:
    return f"{at}#{record_id}"


def record_item(rec: Recorded) -> Item:
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


def load_records(model: type[M], items: list[Item]) -> list[M]:
    return [base.load(model, i) for i in items]
