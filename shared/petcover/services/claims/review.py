"""Assessors decide: take a submitted claim into assessment, approve an amount, or reject it.
A decision takes the claim out of the staff queue (``lookups.review_queue``)."""

from __future__ import annotations

from petcover.domain import states
from petcover.domain.money import cents as to_cents
from petcover.errors import BusinessRuleViolation, StaleWrite
from petcover.identity import Principal
from petcover.models.claims import ApproveRequest, AssessRequest, Claim, Decision, RejectRequest
from petcover.ports import Ports
from petcover.repositories import policies as policy_repo
from petcover.services import audit
from petcover.services.claims import lookups
from petcover.services.claims.payouts import check_payable
from petcover.services.claims.transitions import advance, commit, refusal


def assess(p: Ports, who: Principal, number: str, req: AssessRequest) -> Claim:
    claim, _ = lookups.visible(p, who, number)
    new = advance(claim, p.now(), status=states.CLAIM.next_state(claim.status, "assess"), note=req.note)
    try:
        return commit(p, audit.actor_name(who), claim, new, "assess", reason=req.note)
    except StaleWrite:
        raise refusal(p, claim) from None


def approve(p: Ports, who: Principal, number: str, req: ApproveRequest) -> Claim:
    """An assessor approves an amount: within the claim, the benefit's limit and the remaining sum."""
    claim, _ = lookups.visible(p, who, number)
    status = states.CLAIM.next_state(claim.status, "approve")
    if req.amount > claim.amount:
        raise BusinessRuleViolation(
            f"{req.amount} is more than the {claim.amount} claimed.", code="AMOUNT_ABOVE_CLAIMED"
        )
    benefit = lookups.benefit_of(p, claim)
    if benefit.amount_limit is not None and req.amount > benefit.amount_limit:
        raise BusinessRuleViolation(
            f"{req.amount} is above the limit of benefit {benefit.code} ({benefit.amount_limit}).",
            code="AMOUNT_ABOVE_LIMIT",
            details={"limit": str(benefit.amount_limit)},
        )
    cents = to_cents(req.amount)
    check_payable(p, claim.policy_number, cents)
    now = p.now()
    actor = audit.actor_name(who)
    new = advance(
        claim,
        now,
        status=status,
        approved_amount=req.amount,
        decision=Decision(outcome="approve", rule="assessor", by=actor, at=now, note=req.note),
        note=req.note,
        review=None,
    )
    payable = policy_repo.payable(claim.policy_number, cents)
    try:
        return commit(p, actor, claim, new, "approve", queue="remove", extra_ops=[payable])
    except StaleWrite:
        raise refusal(p, claim, cents) from None


def reject(p: Ports, who: Principal, number: str, req: RejectRequest) -> Claim:
    claim, _ = lookups.visible(p, who, number)
    now = p.now()
    actor = audit.actor_name(who)
    new = advance(
        claim,
        now,
        status=states.CLAIM.next_state(claim.status, "reject"),
        decision=Decision(outcome="reject", rule="assessor", by=actor, at=now, note=req.reason),
        note=req.reason,
        review=None,
    )
    try:
        return commit(p, actor, claim, new, "reject", queue="remove", reason=req.reason)
    except StaleWrite:
        raise refusal(p, claim) from None
