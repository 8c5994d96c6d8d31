"""An insurer's API endpoint: where we call it, with which timeout and retries, and the key we
sign those calls with (its secret shown once, sealed in the table; the insurer verifies with it)."""

from __future__ import annotations

import secrets

from petcover import outbound
from petcover.errors import BusinessRuleViolation
from petcover.identity import Principal
from petcover.models.insurers import EndpointInput, EndpointSaved
from petcover.ports import Ports, Put
from petcover.repositories import insurers as repo
from petcover.services import audit
from petcover.services.partners.accounts import get_account

ENTITY = "partner"


def save(p: Ports, who: Principal | str, insurer_id: str, body: EndpointInput) -> EndpointSaved:
    acc = get_account(p, insurer_id)
    if acc.kind != "insurer":
        raise BusinessRuleViolation(f"{insurer_id} is not an insurer.", code="WRONG_PARTNER_KIND")
    if acc.status == "closed":
        raise BusinessRuleViolation(f"Insurer {insurer_id} is closed.", code="PARTNER_CLOSED")
    outbound.check_saved(body.url, "url")
    before = p.store.get(*repo.endpoint_key(insurer_id))
    now = p.now()
    secret: str | None = None
    if before is None or body.new_key:
        key_id = f"ink_{secrets.token_hex(8)}"
        secret = secrets.token_urlsafe(32)
        sealed = p.box().seal_secret(secret, repo.endpoint_context(insurer_id, key_id))
    else:
        previous, sealed = repo.endpoint_data(before)
        key_id = str(previous["key_id"])
    data = {
        "url": body.url,
        "timeout_ms": body.timeout_ms,
        "retries": body.retries,
        "key_id": key_id,
        "updated_at": now.isoformat(),
    }
    shown = {k: v for k, v in data.items() if k != "updated_at"}
    p.store.transact(
        [
            Put(repo.endpoint_item(insurer_id, data, sealed)),
            audit.entry(
                p,
                who,
                ENTITY,
                insurer_id,
                "insurer_endpoint_saved",
                before=repo.endpoint_data(before)[0] if before else None,
                after=shown,
            ),
        ]
    )
    return EndpointSaved(insurer_id=insurer_id, secret=secret, updated_at=now, **shown)
