"""What ops and partners read: a partner's account with its configuration and pending change,
the ops review queue, and the audit trail.
"""

from __future__ import annotations

from petcover.errors import NotFound
from petcover.identity import Principal
from petcover.models.common import AuditRecord
from petcover.models.partners import AuditQuery, FieldError, PartnerAccount, PartnerDetail, ReviewItem, ReviewQueue
from petcover.ports import Item, Ports
from petcover.repositories import partners as keys
from petcover.repositories.base import paginate
from petcover.services import audit
from petcover.services.partners.accounts import ENTITY, caller, get_account
from petcover.services.partners.changes import get_change
from petcover.services.partners.config import live, view
from petcover.services.partners.validation import problems


def _detail(p: Ports, acc: PartnerAccount) -> PartnerDetail:
    cur = live(p, acc.id)
    pending = get_change(p, acc.id, cur.pending) if cur is not None and cur.pending else None
    return PartnerDetail(account=acc, config=view(p, acc, cur) if cur is not None else None, pending_change=pending)


def detail(p: Ports, partner_id: str) -> PartnerDetail:
    acc = get_account(p, partner_id)
    return _detail(p, acc)


def me(p: Ports, principal: Principal) -> PartnerDetail:
    return _detail(p, caller(p, principal))


def _review_item(p: Ports, item: Item) -> ReviewItem:
    cur = keys.load_live(item)
    acc = get_account(p, cur.doc.partner_id)
    return ReviewItem(
        partner_id=acc.id,
        partner_name=acc.name,
        kind=acc.kind,
        agreement_ref=acc.agreement_ref,
        submission_id=cur.doc.submission_id,
        submitted_at=cur.doc.submitted_at,
        version=cur.version,
        config=cur.doc.config,
        problems=[FieldError(**e) for e in problems(p, acc, cur.doc.config)],
    )


def review_queue(p: Ports) -> ReviewQueue:
    """Submitted configurations and pending change requests, oldest first."""
    submitted = [
        _review_item(p, item)
        for item in paginate(p.store, keys.REVIEW_QUEUE, index="gsi3")
        if item.get("state") == "submitted"  # the index lags a decision by a moment
    ]
    pending = [
        keys.load_change(i)
        for i in paginate(p.store, keys.PENDING_CHANGES, index="gsi3")
        if i.get("state") == "pending"
    ]
    return ReviewQueue(submitted=submitted, pending_changes=pending)


def audit_trail(p: Ports, q: AuditQuery) -> list[AuditRecord]:
    """Every account, submission, review and change record, by partner id, partner name or request id."""
    if q.request_id:
        return audit.by_request(p, q.request_id, limit=q.limit)
    if q.partner_id:
        get_account(p, q.partner_id)
        return audit.by_entity(p, ENTITY, q.partner_id, limit=q.limit)
    assert q.partner_name is not None
    found = p.store.query(keys.name_pk(q.partner_name), index="gsi1").items
    if not found:
        raise NotFound(f"There is no partner named {q.partner_name!r}.", code="PARTNER_NOT_FOUND")
    records = [r for item in found for r in audit.by_entity(p, ENTITY, keys.load_account(item).id, limit=q.limit)]
    records.sort(key=lambda r: (r.at, r.id), reverse=True)
    return records[: q.limit]
