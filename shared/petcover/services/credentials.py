"""Signing keys for partners (channels, providers, insurers): at most two active, for rotation.

The secret is returned once, at issue; afterwards only the key id and status are shown. The table
keeps it sealed by the secret box (KMS), so reading the table does not reveal it.
"""

from __future__ import annotations

import secrets
from typing import Literal

from petcover.errors import BusinessRuleViolation, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.common import IssuedKey, KeyInfo
from petcover.ports import Ports, Put, Update, WriteOp
from petcover.repositories import partners as keys
from petcover.services import audit

MAX_ACTIVE_KEYS = 2
OwnerKind = Literal["channel", "provider", "insurer"]
Audited = tuple[Principal | str, str, str]  # who, the entity type and the action of the audit record


def _audit(
    p: Ports, audited: Audited | None, owner_id: str, after: dict[str, str], reason: str | None = None
) -> list[WriteOp]:
    """The audit record of a key change, for the change's own transaction (none for seeding)."""
    if audited is None:
        return []
    who, entity_type, action = audited
    return [audit.entry(p, who, entity_type, owner_id, action, after=after, reason=reason)]


def issue(p: Ports, kind: OwnerKind, owner_id: str, *, audited: Audited | None = None) -> IssuedKey:
    """Count of active keys is a guarded counter on the owner's key-set item, moved atomically.

    ``audited``: (who, entity type, action) of the audit record written with the key."""
    key_id = f"{kind[:2]}k_{secrets.token_hex(8)}"
    secret = secrets.token_urlsafe(32)
    sealed = p.box().seal_secret(secret, keys.signing_key_context(key_id, kind, owner_id))
    now = p.now().isoformat()
    try:
        p.store.transact(
            [
                Update(*keys.key_set(kind, owner_id), add={"n": 1}, expect=[("n", "<?", MAX_ACTIVE_KEYS)]),
                Put(keys.key_item(key_id, sealed, kind, owner_id, now), if_absent=True),
                *_audit(p, audited, owner_id, {"key_id": key_id}),
            ]
        )
    except StaleWrite:
        raise BusinessRuleViolation(
            f"{owner_id} already has {MAX_ACTIVE_KEYS} active keys; revoke one before issuing another.",
            code="TOO_MANY_KEYS",
        ) from None
    return IssuedKey(key_id=key_id, secret=secret, owner_id=owner_id, owner_kind=kind)


def revoke(
    p: Ports,
    kind: OwnerKind,
    owner_id: str,
    key_id: str,
    *,
    audited: Audited | None = None,
    reason: str | None = None,
) -> KeyInfo:
    pk, sk = keys.partner_key(key_id)
    item = p.store.get(pk, sk)
    if item is None or item.get("owner") != keys.key_owner(kind, owner_id):
        raise NotFound(f"Key {key_id} does not exist for {owner_id}.", code="KEY_NOT_FOUND")
    if item.get("state") == "active":
        p.store.transact(
            [
                Update(pk, sk, set={"state": "revoked"}, expect=[("state", "=", "active")]),
                Update(*keys.key_set(kind, owner_id), add={"n": -1}),
                *_audit(p, audited, owner_id, {"key_id": key_id, "status": "revoked"}, reason),
            ]
        )
        item["state"] = "revoked"
    return KeyInfo(**keys.key_fields(item))


def list_keys(p: Ports, kind: OwnerKind, owner_id: str) -> list[KeyInfo]:
    page = p.store.query(keys.key_set_pk(kind, owner_id), index="gsi1")
    return [KeyInfo(**keys.key_fields(i)) for i in page.items]
