"""Ops suspend, resume or close a partner account: always with a reason, audited with the change.

A suspended or closed provider gets no new orders: dispatch takes candidates from active accounts
only (``directory``) and confirms the one it picks with a consistent read, and its signed calls
are refused (``authentication``). The answer lists the orders the provider still holds, so
operations can reassign them (``fulfilment.reassignment``). Resuming makes it a candidate again;
closing is final.
"""

from __future__ import annotations

from typing import Literal

from petcover.domain.states import PARTNER_ACCOUNT
from petcover.errors import Conflict, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.fulfilment import OpenOrderList
from petcover.models.partners import PartnerStatus, StatusChange
from petcover.ports import Ports
from petcover.repositories import partners as keys
from petcover.services import audit
from petcover.services.fulfilment import reassignment
from petcover.services.partners.accounts import ENTITY

Action = Literal["suspend", "resume", "close"]


def change_status(p: Ports, who: Principal, partner_id: str, action: Action, req: StatusChange) -> PartnerStatus:
    item = p.store.get(*keys.partner(partner_id))
    if item is None:
        raise NotFound(f"There is no partner {partner_id}.", code="PARTNER_NOT_FOUND")
    acc = keys.load_account(item)
    new = PARTNER_ACCOUNT.next_state(acc.status, action)
    after = acc.model_copy(
        update={
            "status": new,
            "status_reason": req.reason,
            "status_changed_at": p.now().isoformat(),
            "status_changed_by": audit.actor_name(who),
        }
    )
    record = audit.entry(
        p, who, ENTITY, partner_id, action, before={"status": acc.status}, after={"status": new}, reason=req.reason
    )
    try:
        p.store.transact([keys.account_status_change(after, acc.status), record])
    except StaleWrite:
        raise Conflict(
            f"Partner {partner_id} changed meanwhile; reload it and try again.", code="PARTNER_CHANGED"
        ) from None
    return PartnerStatus(account=after, open_orders=open_orders(p, partner_id, kind=acc.kind).items)


def open_orders(p: Ports, partner_id: str, *, kind: str | None = None) -> OpenOrderList:
    """The orders a provider holds and has not finished (none for an insurer)."""
    if kind is None:
        item = p.store.get(*keys.partner(partner_id))
        if item is None:
            raise NotFound(f"There is no partner {partner_id}.", code="PARTNER_NOT_FOUND")
        kind = keys.load_account(item).kind
    if kind != "provider":
        return OpenOrderList(provider_id=partner_id, items=[])
    return reassignment.open_orders(p, partner_id)
