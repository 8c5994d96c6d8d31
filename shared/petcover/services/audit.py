"""Audit trail: who changed what, when, before and after; findable by entity, actor or request."""

from __future__ import annotations

import json
import uuid
from typing import Any

from pydantic import BaseModel

from petcover.identity import Principal
from petcover.ports import Ports


class AuditRecord(BaseModel):
    id: str
    at: str
    actor: str
    entity_type: str
    entity_id: str
    action: str
    before: Any = None
    after: Any = None
    request_id: str | None = None
    reason: str | None = None


def actor_name(who: Principal | str) -> str:
    return who if isinstance(who, str) else f"{who.kind}:{who.id}"


def record(
    p: Ports,
    who: Principal | str,
    entity_type: str,
    entity_id: str,
    action: str,
    *,
    before: Any = None,
    after: Any = None,
    request_id: str | None = None,
    reason: str | None = None,
) -> AuditRecord:
    at = p.now().isoformat()
    rec = AuditRecord(
        id=uuid.uuid4().hex,
        at=at,
        actor=actor_name(who),
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        before=before,
        after=after,
        request_id=request_id,
        reason=reason,
    )
    item: dict[str, Any] = {
        "pk": f"AUDIT#{entity_type}#{entity_id}",
        "sk": f"{at}#{rec.id}",
        "gsi1pk": f"AUDITBY#{rec.actor}",
        "gsi1sk": f"{at}#{rec.id}",
        "kind": "audit",
        "data": rec.model_dump_json(),
    }
    if request_id:
        item["gsi2pk"] = f"AUDITREQ#{request_id}"
        item["gsi2sk"] = f"{at}#{rec.id}"
    p.store.put(item)
    return rec


def by_entity(p: Ports, entity_type: str, entity_id: str, limit: int = 100) -> list[AuditRecord]:
    page = p.store.query(f"AUDIT#{entity_type}#{entity_id}", limit=limit, descending=True)
    return [AuditRecord.model_validate(json.loads(i["data"])) for i in page.items]


def by_actor(p: Ports, actor: str, limit: int = 100) -> list[AuditRecord]:
    page = p.store.query(f"AUDITBY#{actor}", index="gsi1", limit=limit, descending=True)
    return [AuditRecord.model_validate(json.loads(i["data"])) for i in page.items]


def by_request(p: Ports, request_id: str, limit: int = 100) -> list[AuditRecord]:
    page = p.store.query(f"AUDITREQ#{request_id}", index="gsi2", limit=limit)
    return [AuditRecord.model_validate(json.loads(i["data"])) for i in page.items]
