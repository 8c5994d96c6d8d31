"""Change requests to a live configuration: the partner proposes, ops approve or reject.

Nothing changes until ops approve; approving moves the live configuration and the request in
one transaction, conditional on the version the request was made on. Requests and decisions
are audited with ``request_id`` = the change request id.
"""

from __future__ import annotations

from petcover.domain import partner_config as rules
from petcover.domain.states import CHANGE_REQUEST, PARTNER_CONFIG
from petcover.errors import BusinessRuleViolation, Conflict, InvalidInput, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.partners import ChangeRequest, ConfigInput, PartnerAccount
from petcover.ports import Ports, Put, Update, WriteOp
from petcover.repositories import base as entities
from petcover.repositories import partners as keys
from petcover.repositories.base import paginate
from petcover.services import audit
from petcover.services.partners.accounts import ENTITY, Who, caller, get_account, new_id
from petcover.services.partners.config import live, must_live
from petcover.services.partners.validation import invalid, problems


def get_change(p: Ports, partner_id: str, request_id: str) -> ChangeRequest:
    item = p.store.get(*keys.change_key(partner_id, request_id))
    if item is None:
        raise NotFound(f"There is no change request {request_id} for partner {partner_id}.", code="CHANGE_NOT_FOUND")
    return keys.load_change(item)


def list_changes(p: Ports, partner_id: str, state: str | None = None) -> list[ChangeRequest]:
    get_account(p, partner_id)
    items = paginate(p.store, keys.partner_pk(partner_id), sk_prefix=keys.CHANGE_PREFIX, descending=True)
    out = [keys.load_change(i) for i in items]
    return [c for c in out if state is None or c.state == state]


# ---------------------------------------------------------------- the partner proposes


def request_change(p: Ports, principal: Principal, proposed: ConfigInput, reason: str) -> ChangeRequest:
    """Propose a new configuration for an active partner; nothing changes until ops approve."""
    acc = caller(p, principal)
    return propose_change(p, principal, acc, proposed, reason, prefix="config.")


def _pending_conflict(request_id: str) -> Conflict:
    return Conflict(
        f"Change request {request_id} is already awaiting review; wait for the decision first.",
        code="CHANGE_PENDING",
        details={"request_id": request_id},
    )


def _store_change(p: Ports, cr: ChangeRequest, record: Put) -> None:
    """The request, the live configuration's pointer to it and the audit record, written together."""
    try:
        p.store.transact(
            [
                Update(
                    *keys.config_key(cr.partner_id),
                    set={"ref": cr.id},
                    expect=[("state", "=", "active"), ("version", "=", cr.base_version), ("ref", "not_exists", None)],
                ),
                Put(keys.new_change_item(cr), if_absent=True),
                record,
            ]
        )
    except StaleWrite:
        again = live(p, cr.partner_id)
        if again is not None and again.pending:
            raise _pending_conflict(again.pending) from None
        raise StaleWrite(
            "The live configuration changed meanwhile; reload it and request the change again.",
            code="STALE_WRITE",
        ) from None


def propose_change(
    p: Ports, who: Who, acc: PartnerAccount, proposed: ConfigInput, reason: str, prefix: str
) -> ChangeRequest:
    """A change request of ``acc`` (already authenticated); error fields are reported under ``prefix``."""
    cur = must_live(p, acc.id)
    PARTNER_CONFIG.next_state(cur.state, "request_change")
    if cur.pending:
        raise _pending_conflict(cur.pending)
    changes = rules.diff(cur.doc.config, proposed)
    if not changes:
        raise InvalidInput("The proposed configuration is the same as the live one.", code="NO_CHANGES")
    rules.check_permissions(acc, changes)
    errs = problems(p, acc, proposed)
    if errs:
        raise invalid(errs, prefix)
    now = p.now().isoformat()
    cr = ChangeRequest(
        id=new_id("chg", p),
        partner_id=acc.id,
        partner_name=acc.name,
        kind=acc.kind,
        state="pending",
        reason=reason.strip(),
        base_version=cur.version,
        proposed=proposed,
        diff=changes,
        requested_at=now,
        requested_by=audit.actor_name(who),
    )
    record = audit.entry(
        p,
        who,
        ENTITY,
        acc.id,
        "change_requested",
        after={"base_version": cur.version, "diff": [c.model_dump(mode="json") for c in changes]},
        request_id=cr.id,
        reason=cr.reason,
    )
    _store_change(p, cr, record)
    return cr


# ---------------------------------------------------------------- ops decide


def _change_race(p: Ports, partner_id: str, request_id: str, action: str) -> StaleWrite:
    cur = get_change(p, partner_id, request_id)
    CHANGE_REQUEST.next_state(cur.state, action)  # raises IllegalTransition when decided meanwhile
    return StaleWrite(
        "The configuration changed meanwhile; reload the change request and try again.", code="STALE_WRITE"
    )


def _applicable(p: Ports, acc: PartnerAccount, cr: ChangeRequest) -> keys.Live:
    """The live configuration the request still applies to, or why it no longer does."""
    cur = must_live(p, acc.id)
    if cur.version != cr.base_version or cur.pending != cr.id or cur.state != "active":
        raise Conflict(
            f"The live configuration is at version {cur.version} but the request was made on version "
            f"{cr.base_version}; reject it and ask the partner for a new one.",
            code="CHANGE_OUTDATED",
            details={"live_version": cur.version, "base_version": cr.base_version},
        )
    errs = problems(p, acc, cr.proposed)
    if errs:
        raise BusinessRuleViolation(
            "The proposed configuration no longer passes the checks; reject it with the reason instead.",
            code="CONFIG_INVALID",
            details=errs,
        )
    return cur


def approve_change(p: Ports, who: Who, partner_id: str, request_id: str, note: str | None = None) -> ChangeRequest:
    """Apply the proposed configuration atomically: live version check + request state in one transaction."""
    acc = get_account(p, partner_id)
    cr = get_change(p, partner_id, request_id)
    CHANGE_REQUEST.next_state(cr.state, "approve")
    cur = _applicable(p, acc, cr)
    now = p.now().isoformat()
    doc = cur.doc.model_copy(
        update={"config": cr.proposed, "updated_at": now, "updated_by": cr.requested_by, "last_change_id": request_id}
    )
    done = cr.model_copy(
        update={
            "state": CHANGE_REQUEST.next_state(cr.state, "approve"),
            "reviewed_at": now,
            "reviewed_by": audit.actor_name(who),
            "review_reason": note,
            "applied_version": cur.version + 1,
        }
    )
    try:
        p.store.transact(
            [
                Update(
                    *keys.config_key(partner_id),
                    set={"data": entities.dump(doc), "ref": None},
                    add={"version": 1},
                    expect=[("state", "=", "active"), ("version", "=", cr.base_version), ("ref", "=", request_id)],
                ),
                Update(
                    *keys.change_key(partner_id, request_id),
                    set=keys.decided_change(done),
                    expect=[("state", "=", "pending")],
                ),
                audit.entry(
                    p,
                    who,
                    ENTITY,
                    partner_id,
                    "change_approved",
                    before=cur.doc.config.model_dump(mode="json"),
                    after=cr.proposed.model_dump(mode="json"),
                    request_id=request_id,
                    reason=note,
                ),
            ]
        )
    except StaleWrite:
        raise _change_race(p, partner_id, request_id, "approve") from None
    return done


def reject_change(p: Ports, who: Who, partner_id: str, request_id: str, reason: str) -> ChangeRequest:
    """The request is closed with the reason; the live configuration stays as it was."""
    if not reason.strip():
        raise InvalidInput("A reason is required to reject.", code="REASON_REQUIRED")
    get_account(p, partner_id)
    cr = get_change(p, partner_id, request_id)
    new_state = CHANGE_REQUEST.next_state(cr.state, "reject")
    done = cr.model_copy(
        update={
            "state": new_state,
            "reviewed_at": p.now().isoformat(),
            "reviewed_by": audit.actor_name(who),
            "review_reason": reason.strip(),
        }
    )
    ops: list[WriteOp] = [
        Update(
            *keys.change_key(partner_id, request_id),
            set=keys.decided_change(done),
            expect=[("state", "=", "pending")],
        ),
        audit.entry(p, who, ENTITY, partner_id, "change_rejected", request_id=request_id, reason=done.review_reason),
    ]
    cur = live(p, partner_id)
    if cur is not None and cur.pending == request_id:
        ops.append(Update(*keys.config_key(partner_id), set={"ref": None}, expect=[("ref", "=", request_id)]))
    try:
        p.store.transact(ops)
    except StaleWrite:
        raise _change_race(p, partner_id, request_id, "reject") from None
    return done
