"""Partner accounts: opened by ops, read by id or by the signed caller, and their signing keys.

Every account, submission, review and change is audited on entity ``partner/{id}``.
"""

from __future__ import annotations

import secrets

from petcover.errors import BusinessRuleViolation, Conflict, Forbidden, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.common import IssuedKey, KeyInfo
from petcover.models.partners import PERMISSIONS, PartnerAccount, PartnerCreate
from petcover.ports import Ports, Put
from petcover.repositories import partners as keys
from petcover.services import audit, credentials

ENTITY = "partner"

Who = Principal | str


def new_id(prefix: str, p: Ports) -> str:
    """Sortable by time, unique by the random tail."""
    return f"{prefix}_{p.now().strftime('%Y%m%d%H%M%S')}{secrets.token_hex(4)}"


def get_account(p: Ports, partner_id: str) -> PartnerAccount:
    item = p.store.get(*keys.partner(partner_id))
    if item is None:
        raise NotFound(f"There is no partner {partner_id}.", code="PARTNER_NOT_FOUND")
    return keys.load_account(item)


def create_partner(p: Ports, who: Who, body: PartnerCreate) -> PartnerAccount:
    """Ops open the account after the offline agreement; the name must be unique (case-insensitive)."""
    prefix = "prv" if body.kind == "provider" else "ins"
    partner_id = f"{prefix}_{secrets.token_hex(6)}"
    account = PartnerAccount(
        id=partner_id,
        kind=body.kind,
        name=body.name,
        agreement_ref=body.agreement_ref,
        permissions=list(body.permissions if body.permissions is not None else PERMISSIONS[body.kind]),
        status="active",
        created_at=p.now().isoformat(),
        created_by=audit.actor_name(who),
    )
    account_item, name_guard = keys.account_items(account)
    record = audit.entry(p, who, ENTITY, partner_id, "account_created", after=account.model_dump(mode="json"))
    try:
        p.store.transact([Put(account_item, if_absent=True), Put(name_guard, if_absent=True), record])
    except StaleWrite:
        raise Conflict(
            f"A partner named {body.name!r} already exists.",
            code="PARTNER_NAME_TAKEN",
            details={"field": "name"},
        ) from None
    return account


def caller(p: Ports, principal: Principal) -> PartnerAccount:
    """The signed partner's own account: a provider or insurer, active, of the kind its key says."""
    if principal.kind not in ("provider", "insurer"):
        raise Forbidden("This call is for providers and insurers.", code="WRONG_PARTNER_KIND")
    item = p.store.get(*keys.partner(principal.id))
    if item is None:
        raise Forbidden("The signing key belongs to no partner account.", code="PARTNER_NOT_FOUND")
    acc = keys.load_account(item)
    if acc.kind != principal.kind:
        raise Forbidden("The signing key does not match the partner account.", code="WRONG_PARTNER_KIND")
    if acc.status != "active":
        raise Forbidden("This partner account is not active.", code="PARTNER_INACTIVE")
    return acc


def issue_key(p: Ports, who: Who, partner_id: str) -> IssuedKey:
    acc = get_account(p, partner_id)
    if acc.status == "closed":
        raise BusinessRuleViolation(f"Partner {partner_id} is closed; it gets no keys.", code="PARTNER_CLOSED")
    return credentials.issue(p, acc.kind, partner_id, audited=(who, ENTITY, "key_issued"))


def list_keys(p: Ports, partner_id: str) -> list[KeyInfo]:
    acc = get_account(p, partner_id)
    return credentials.list_keys(p, acc.kind, partner_id)


def revoke_key(p: Ports, who: Who, partner_id: str, key_id: str, *, reason: str) -> KeyInfo:
    acc = get_account(p, partner_id)
    audited = (who, ENTITY, "key_revoked")
    return credentials.revoke(p, acc.kind, partner_id, key_id, audited=audited, reason=reason)
