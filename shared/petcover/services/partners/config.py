"""A partner's configuration until it goes live: the partner saves a draft and submits it, ops
approve it (a provider becomes a dispatch candidate) or reject it with a reason.

Every write that moves a state is conditional on the state and version it read, so two
reviewers cannot both decide. Submissions and reviews are audited with ``request_id`` = the
submission id.
"""

from __future__ import annotations

from typing import Any

from petcover.domain import partner_config as rules
from petcover.domain.states import PARTNER_CONFIG
from petcover.errors import BusinessRuleViolation, InvalidInput, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.partners import ConfigInput, PartnerAccount, PartnerConfigView, StoredConfig
from petcover.ports import Ports, Put, Update
from petcover.repositories import base as entities
from petcover.repositories import partners as keys
from petcover.repositories.partners import Live
from petcover.services import audit
from petcover.services.partners.accounts import ENTITY, Who, caller, get_account, new_id
from petcover.services.partners.validation import consistency_errors, invalid, problems


def live(p: Ports, partner_id: str) -> Live | None:
    return keys.get_live(p, partner_id)


def must_live(p: Ports, partner_id: str) -> Live:
    cur = live(p, partner_id)
    if cur is None:
        raise NotFound(
            f"Partner {partner_id} has no configuration yet; save and submit one first.",
            code="CONFIG_NOT_FOUND",
        )
    return cur


def view(p: Ports, acc: PartnerAccount, cur: Live) -> PartnerConfigView:
    return PartnerConfigView.model_validate(
        {
            **cur.doc.model_dump(),
            "state": cur.state,
            "version": cur.version,
            "pending_change_id": cur.pending,
            "problems": problems(p, acc, cur.doc.config),
        }
    )


def _config_race(p: Ports, partner_id: str, action: str) -> StaleWrite:
    """After a lost conditional write: an illegal move now says why, otherwise it is a plain race."""
    cur = live(p, partner_id)
    if cur is not None:
        PARTNER_CONFIG.next_state(cur.state, action)  # raises IllegalTransition when decided meanwhile
    return StaleWrite("The configuration changed meanwhile; reload it and try again.", code="STALE_WRITE")


# ---------------------------------------------------------------- self-service: draft and submit


def save_draft(p: Ports, principal: Principal, cfg: ConfigInput) -> PartnerConfigView:
    """Create or replace the configuration while it is a draft (or was rejected)."""
    acc = caller(p, principal)
    return store_draft(p, principal, acc, cfg)


def _write_draft(p: Ports, acc: PartnerAccount, cur: Live | None, cfg: ConfigInput, actor: str, record: Put) -> Live:
    """The draft and its audit record, in one transaction."""
    now = p.now().isoformat()
    if cur is None:
        doc = StoredConfig(partner_id=acc.id, kind=acc.kind, config=cfg, updated_at=now, updated_by=actor)
        try:
            p.store.transact([Put(keys.new_config_item(doc), if_absent=True), record])
        except StaleWrite:
            raise StaleWrite(
                "The configuration was created meanwhile; reload it and try again.", code="STALE_WRITE"
            ) from None
        return Live(doc, "draft", 1, None)
    doc = cur.doc.model_copy(update={"config": cfg, "updated_at": now, "updated_by": actor})
    try:
        p.store.transact(
            [
                Update(
                    *keys.config_key(acc.id),
                    set={"data": entities.dump(doc)},
                    add={"version": 1},
                    expect=[("state", "=", cur.state), ("version", "=", cur.version)],
                ),
                record,
            ]
        )
    except StaleWrite:
        raise _config_race(p, acc.id, "submit") from None
    return Live(doc, cur.state, cur.version + 1, cur.pending)


def store_draft(p: Ports, who: Who, acc: PartnerAccount, cfg: ConfigInput) -> PartnerConfigView:
    """Save ``cfg`` as the draft of ``acc`` (already authenticated), if it may be edited and is consistent."""
    cur = live(p, acc.id)
    if cur is not None and cur.state not in rules.EDITABLE:
        raise rules.not_editable(cur.state)
    changes = rules.diff(cur.doc.config if cur else None, cfg)
    rules.check_permissions(acc, changes)
    errs = consistency_errors(p, acc, cfg)
    if errs:
        raise invalid(errs)
    if cur is not None and not changes:
        return view(p, acc, cur)
    record = audit.entry(
        p,
        who,
        ENTITY,
        acc.id,
        "config_draft_saved",
        after={"version": cur.version + 1 if cur else 1, "changes": [c.model_dump(mode="json") for c in changes]},
    )
    saved = _write_draft(p, acc, cur, cfg, audit.actor_name(who), record)
    return view(p, acc, saved)


def submit(p: Ports, principal: Principal) -> PartnerConfigView:
    """draft|rejected -> submitted, after every completeness and consistency check passes."""
    acc = caller(p, principal)
    cur = live(p, acc.id)
    if cur is None:
        raise NotFound("There is no configuration to submit; save a draft first.", code="CONFIG_NOT_FOUND")
    new_state = PARTNER_CONFIG.next_state(cur.state, "submit")
    errs = problems(p, acc, cur.doc.config)
    if errs:
        raise invalid(errs)
    now = p.now().isoformat()
    submission_id = new_id("sub", p)
    doc = cur.doc.model_copy(
        update={
            "submission_id": submission_id,
            "submitted_at": now,
            "submitted_by": audit.actor_name(principal),
            "reviewed_at": None,
            "reviewed_by": None,
            "review_reason": None,
        }
    )
    record = audit.entry(
        p,
        principal,
        ENTITY,
        acc.id,
        "config_submitted",
        after=doc.config.model_dump(mode="json"),
        request_id=submission_id,
    )
    try:
        p.store.transact(
            [
                Update(
                    *keys.config_key(acc.id),
                    set={"state": new_state, "data": entities.dump(doc), **keys.review_entry(now, acc.id)},
                    add={"version": 1},
                    expect=[("state", "=", cur.state), ("version", "=", cur.version)],
                ),
                record,
            ]
        )
    except StaleWrite:
        raise _config_race(p, acc.id, "submit") from None
    return view(p, acc, Live(doc, new_state, cur.version + 1, cur.pending))


# ---------------------------------------------------------------- ops review of the first configuration


def _decide_config(p: Ports, who: Who, partner_id: str, action: str, reason: str | None) -> PartnerConfigView:
    acc = get_account(p, partner_id)
    cur = must_live(p, partner_id)
    new_state = PARTNER_CONFIG.next_state(cur.state, action)
    if action == "approve":
        errs = problems(p, acc, cur.doc.config)
        if errs:
            raise BusinessRuleViolation(
                "The configuration no longer passes the checks; reject it with the reason instead.",
                code="CONFIG_INVALID",
                details=errs,
            )
    now = p.now().isoformat()
    update: dict[str, Any] = {"reviewed_at": now, "reviewed_by": audit.actor_name(who), "review_reason": reason}
    if action == "approve":
        update["activated_at"] = now
    doc = cur.doc.model_copy(update=update)
    listing = keys.listing_entry(acc.kind, partner_id) if new_state == "active" else {}
    record = audit.entry(
        p,
        who,
        ENTITY,
        partner_id,
        f"config_{'approved' if action == 'approve' else 'rejected'}",
        before={"state": cur.state, "version": cur.version},
        after={"state": new_state, "version": cur.version + 1},
        request_id=doc.submission_id,
        reason=reason,
    )
    change = Update(
        *keys.config_key(partner_id),
        set={
            "state": new_state,
            "data": entities.dump(doc),
            **keys.OFF_REVIEW_INDEX,
            **keys.OFF_LISTING_INDEX,
            **listing,
        },
        add={"version": 1},
        expect=[("state", "=", cur.state), ("version", "=", cur.version)],
    )
    try:
        p.store.transact([change, record])
    except StaleWrite:
        raise _config_race(p, partner_id, action) from None
    return view(p, acc, Live(doc, new_state, cur.version + 1, cur.pending))


def approve_config(p: Ports, who: Who, partner_id: str, note: str | None = None) -> PartnerConfigView:
    """submitted -> active: a provider becomes a dispatch candidate."""
    return _decide_config(p, who, partner_id, "approve", note)


def reject_config(p: Ports, who: Who, partner_id: str, reason: str) -> PartnerConfigView:
    """submitted -> rejected, with the reason; the partner edits and submits again."""
    if not reason.strip():
        raise InvalidInput("A reason is required to reject.", code="REASON_REQUIRED")
    return _decide_config(p, who, partner_id, "reject", reason.strip())
