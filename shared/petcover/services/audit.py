"""Audit trail: who changed what, when, before and after; findable by entity, actor or request.

Keys and items: ``petcover.repositories.audit``. The lists below return one page (``limit``).
"""

from __future__ import annotations

import uuid
from typing import Any

from petcover.identity import Principal
from petcover.models.common import AuditRecord
from petcover.ports import Ports
from petcover.repositories import audit as repo


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
    if request_id is None and isinstance(who, Principal):
        request_id = who.request_id  # the API Gateway request of the call, so "audit by request" finds it
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
    p.store.put(repo.record_item(rec))
    return rec


def by_entity(p: Ports, entity_type: str, entity_id: str, limit: int = 100) -> list[AuditRecord]:
    page = p.store.query(repo.entity_pk(entity_type, entity_id), limit=limit, descending=True)
    return repo.load_records(page.items)


def by_actor(p: Ports, actor: str, limit: int = 100) -> list[AuditRecord]:
    page = p.store.query(repo.actor_pk(actor), index=repo.ACTOR_INDEX, limit=limit, descending=True)
    return repo.load_records(page.items)


def by_request(p: Ports, request_id: str, limit: int = 100) -> list[AuditRecord]:
    page = p.store.query(repo.request_pk(request_id), index=repo.REQUEST_INDEX, limit=limit)
    return repo.load_records(page.items)
