"""A channel changes an unfinished claim: a change record is kept and the claim is assessed again.
An automatic claim leaves the staff queue and asks for a new automatic decision in the same
transaction; any other stays in the staff queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from petcover.domain import calendar, states
from petcover.errors import Conflict, InvalidInput, StaleWrite
from petcover.identity import Principal
from petcover.models.claims import Claim, ClaimChange, ClaimUpdate, Evidence
from petcover.ports import Ports, Put
from petcover.repositories import claims as claim_repo
from petcover.services import audit
from petcover.services.claims import lookups
from petcover.services.claims.notices import jsonable
from petcover.services.claims.submission import check_incident_date
from petcover.services.claims.transitions import ATTEMPTS, advance, commit, commit_and_decide

EVIDENCE_FIELDS = ("tracking_number", "documents")


def _current(c: Claim, field: str) -> Any:
    return getattr(c.evidence, field) if field in EVIDENCE_FIELDS else getattr(c, field)


def _diff(claim: Claim, req: ClaimUpdate, given: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields the request really changes: their values before and after, as JSON."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for f in given:
        old, new = _current(claim, f), getattr(req, f)
        if new is not None and new != old:
            before[f], after[f] = jsonable(old), jsonable(new)
    return before, after


def _changed(claim: Claim, req: ClaimUpdate, fields: dict[str, Any], now: datetime) -> Claim:
    """The claim with the changed fields, back to be assessed, its last decision and note cleared
    (and, for an automatic claim, its place in the staff queue: the rules decide again)."""
    evidence = Evidence.model_validate(
        {**claim.evidence.model_dump(), **{f: getattr(req, f) for f in fields if f in EVIDENCE_FIELDS}}
    )
    return advance(
        claim,
        now,
        **{f: getattr(req, f) for f in fields if f not in EVIDENCE_FIELDS},
        evidence=evidence,
        status=states.CLAIM.next_state(claim.status, "update"),
        decision=None,
        note=None,
        review=None if claim.auto else claim.review,
        changes=claim.changes + 1,
    )


def _check_changeable(number: str, claim: Claim, first_attempt: bool) -> None:
    if states.CLAIM.can(claim.status, "update"):
        return
    if first_attempt:
        states.CLAIM.next_state(claim.status, "update")  # raises, in words
    raise Conflict(
        f"Claim {number} was {claim.status} meanwhile; it can no longer be changed.",
        code="CLAIM_CHANGED",
        details={"status": claim.status},
    )


def update(p: Ports, who: Principal, number: str, req: ClaimUpdate) -> Claim:
    """Change an unfinished claim: a change record is kept and the claim is assessed again.

    Conditional on the version read; a lost race re-reads and re-applies while the claim can
    still be changed, else 409 CLAIM_CHANGED (an automatic decision got there first).
    """
    actor = audit.actor_name(who)
    given = sorted(req.model_fields_set - {"reason"})
    if req.incident_date is not None:
        check_incident_date(req.incident_date, calendar.today(p.now()))
    for attempt in range(ATTEMPTS):
        claim, _ = lookups.visible(p, who, number)
        _check_changeable(number, claim, attempt == 0)
        before, after = _diff(claim, req, given)
        if not after:
            if attempt == 0:
                raise InvalidInput("Nothing would change: the claim already says so.", code="NOTHING_TO_CHANGE")
            return claim
        now = p.now()
        new_claim = _changed(claim, req, after, now)
        change = ClaimChange(version=new_claim.version, at=now, by=actor, reason=req.reason, before=before, after=after)
        record = Put(claim_repo.change_item(number, change), if_absent=True)
        try:
            if claim.auto:
                return commit_and_decide(p, actor, claim, new_claim, "update", extra_ops=[record], reason=req.reason)
            return commit(p, actor, claim, new_claim, "update", extra_ops=[record], reason=req.reason)
        except StaleWrite:
            continue
    raise Conflict(f"Claim {number} keeps changing; retry shortly.", code="CLAIM_CHANGED", retry_after=1)
