"""Audit trail: who changed what, when, before and after; findable by entity, actor or request.

A change to the table carries its record in its own transaction (``entry``); an action outside
the table (moving queue messages) is recorded before it runs and amended with its outcome.

Keys and items: ``petcover.repositories.audit``. The lists below return one page (``limit``).
"""

from __future__ import annotations

import uuid
from typing import Any

from petcover.identity import Principal
from petcover.models.common import AuditRecord
from petcover.ports import Ports, Put
from petcover.repositories import audit as repo


def actor_name(who: Principal | str) -> str:
    return who if isinstance(who, str) else f"{who.kind}:{who.id}"


def entry(
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
) -> Put:
    """The audit record as a write for the transaction of the change it records.

    Every change to the table writes its record this way: the change and its record commit
    together or not at all, so no crash between them loses the record.
    """
    rec = _new(p, who, entity_type, entity_id, action, before, after, request_id, reason)
    return Put(repo.record_item(rec), if_absent=True)


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
    """A record on its own: for an action whose change is not in the table (queue moves), written
    before the action so a crash in it cannot lose the record; ``amend`` adds the outcome."""
    rec = _new(p, who, entity_type, entity_id, action, before, after, request_id, reason)
    p.store.put(repo.record_item(rec))
    return rec


def amend(p: Ports, rec: AuditRecord, *, after: Any) -> AuditRecord:
    """The outcome of the action a ``record`` announced (same record, same keys)."""
    done = rec.model_copy(update={"after": after})
    p.store.put(repo.record_item(done))
    return done


def _new(
    p: Ports,
    who: Principal | str,
    entity_type: str,
    entity_id: str,
    action: str,
    before: Any,
    after: Any,
    request_id: str | None,
    reason: str | None,
) -> AuditRecord:
    if request_id is None and isinstance(who, Principal):
        request_id = who.request_id  # the API Gateway request of the call, so "audit by request" finds it
    return AuditRecord(
        id=uuid.uuid4().hex,
        at=p.now().isoformat(),
        actor=actor_name(who),
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        before=before,
        after=after,
        request_id=request_id,
        reason=reason,
    )


def by_entity(p: Ports, entity_type: str, entity_id: str, limit: int = 100) -> list[AuditRecord]:
    page = p.store.query(repo.entity_pk(entity_type, entity_id), limit=limit, descending=True)
    return repo.load_records(page.items)


def by_actor(p: Ports, actor: str, limit: int = 100) -> list[AuditRecord]:
    page = p.store.query(repo.actor_pk(actor), index=repo.ACTOR_INDEX, limit=limit, descending=True)
    return repo.load_records(page.items)


def by_request(p: Ports, request_id: str, limit: int = 100) -> list[AuditRecord]:
    page = p.store.query(repo.request_pk(request_id), index=repo.REQUEST_INDEX, limit=limit)
    return repo.load_records(page.items)
