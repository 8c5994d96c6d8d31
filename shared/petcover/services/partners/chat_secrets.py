"""DingTalk robot secrets of a partner's alert contacts: set by the partner, never shown again.

A robot secret is a credential of one robot URL, not a reviewed field of the configuration: it is
kept beside the configuration (sealed, one item per robot URL), so configurations, change
requests, review queues, diffs and audit records, which people read, can never carry it. It may
be set for a URL used by a DingTalk contact of the live configuration or of the pending change
request, and takes effect at once; alerts to that robot are then signed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petcover.errors import InvalidInput, NotFound
from petcover.identity import Principal
from petcover.ports import Delete, Ports, Put
from petcover.repositories import alerts as keys
from petcover.repositories import partners as partner_keys
from petcover.services import audit
from petcover.services.partners.accounts import ENTITY, caller
from petcover.services.partners.changes import get_change

if TYPE_CHECKING:
    from petcover.models.partners import AlertContact, ChatSecretInput, ChatSecretSaved


def _contacts_using(p: Ports, partner_id: str, url: str) -> list[AlertContact]:
    cur = partner_keys.get_live(p, partner_id)
    if cur is None:
        return []
    contacts = list(cur.doc.config.contacts)
    if cur.pending:
        contacts += get_change(p, partner_id, cur.pending).proposed.contacts
    return [c for c in contacts if c.webhook_url == url]


def save(p: Ports, principal: Principal, body: ChatSecretInput) -> ChatSecretSaved:
    """Set (or, with ``secret: null``, remove) the robot secret of one of the caller's contact URLs."""
    from petcover.models.partners import ChatSecretSaved

    acc = caller(p, principal)
    using = _contacts_using(p, acc.id, body.webhook_url)
    if not using:
        raise NotFound(
            "None of your contacts uses this webhook_url; save it in your configuration first.",
            code="CONTACT_NOT_FOUND",
        )
    if any(c.channel != "dingtalk" for c in using):
        raise InvalidInput(
            "Only DingTalk robots take a signing secret.",
            code="VALIDATION_FAILED",
            details=[{"field": "webhook_url", "message": "used by a contact that is not a DingTalk robot"}],
        )
    names = list(dict.fromkeys(c.name for c in using))
    action = "chat_secret_removed" if body.secret is None else "chat_secret_set"
    record = audit.entry(p, principal, ENTITY, acc.id, action, after={"contacts": names})
    if body.secret is None:
        p.store.transact([Delete(*keys.chat_secret_key(acc.id, body.webhook_url)), record])
    else:
        context = keys.chat_secret_context(acc.id, body.webhook_url)
        sealed = p.box().seal_secret(body.secret.get_secret_value(), context)
        p.store.transact([Put(keys.chat_secret_item(acc.id, body.webhook_url, sealed, p.now().isoformat())), record])
    return ChatSecretSaved(webhook_url=body.webhook_url, contacts=names, secret_set=body.secret is not None)


def sealed_for(p: Ports, partner_id: str, url: str) -> tuple[str | None, dict[str, str]]:
    """The sealed robot secret of a partner's robot URL (None when unset) and the context it opens with."""
    item = p.store.get(*keys.chat_secret_key(partner_id, url))
    context = keys.chat_secret_context(partner_id, url)
    return (keys.chat_secret(item) if item is not None else None), context
