"""Automatic claims: return-shipping claims are decided by rule (``domain.claim_rules``), then
approved and paid, rejected, or held for an assessor in the staff queue with the failed rules as
the reason (the channel may still correct the claim, which asks for a new decision).

The decision runs from the claim's own committed event: its submission or update writes a
``DecisionRequest`` to ClaimDecisionQueue in the same transaction (``transitions``), released right
after the commit, and ``decide_request`` consumes it. ``run_auto_claims`` (every 5 minutes) is the
safety net for what the event path left: it looks only at claims queued for longer than
``SAFETY_NET_AFTER``. Whatever the path and however often a message comes back, a claim is paid
once: the payout is one transaction conditional on the claim's state and version, with its ledger
entry (``payouts``), and a claim no longer queued is left alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from petcover.domain import calendar, claim_rules, states
from petcover.domain.money import cents, from_cents
from petcover.errors import BusinessRuleViolation, Conflict, StaleWrite
from petcover.models.claims import AutoClaimsRun, Claim, Decision, DecisionRequest, StaffReview
from petcover.observability import logger
from petcover.ports import Ports
from petcover.repositories import claims as claim_repo
from petcover.repositories import policies as policy_repo
from petcover.services import policies
from petcover.services.claims import lookups, notices
from petcover.services.claims.payouts import payout
from petcover.services.claims.transitions import ATTEMPTS, advance, commit

SYSTEM_ACTOR = "system:auto-claims"
# The schedule leaves younger claims to their own queue message (and the outbox sweeper behind it).
SAFETY_NET_AFTER = timedelta(seconds=120)


def _decide(p: Ports, claim: Claim) -> Decision:
    pol, item = policies.load_policy(p, claim.policy_number, balances=False)
    benefit = lookups.benefit_of(p, claim)
    now = p.now()
    verdict = claim_rules.evaluate_return_shipping(
        claim_rules.AutoClaimFacts(
            incident_date=claim.incident_date,
            submitted_on=calendar.day_of(claim.submitted_at),
            amount=claim.amount,
            tracking_number=claim.evidence.tracking_number,
            policy_status=pol.status,
            start=pol.start_date,
            end=pol.end_date,
            limit=benefit.amount_limit,
            remaining=from_cents(policy_repo.remaining_cents(item)),
        )
    )
    return Decision(
        outcome=verdict.outcome,
        rule=verdict.rule,
        ruleset=claim_rules.RULESET,
        passed=verdict.passed,
        failed=verdict.failed,
        note=verdict.note,
        by=SYSTEM_ACTOR,
        at=now,
    )


def _dequeue(p: Ports, claim: Claim) -> None:
    new = advance(claim, p.now())
    with contextlib.suppress(StaleWrite):  # changed meanwhile: the next run looks again
        commit(p, SYSTEM_ACTOR, claim, new, "dequeue", queue="remove")


def _refused(p: Ports, claim: Claim, why: str) -> None:
    """Approved by rule, but the payout was refused (sum insured used up, policy ended): staff decide."""
    now = p.now()
    note = f"Automatic payout refused: {why}"
    review = StaffReview(reason=note, rule="payout_refused", since=now)
    new = advance(claim, now, note=note, review=review)
    with contextlib.suppress(StaleWrite):  # changed meanwhile: whoever changed it decides
        commit(p, SYSTEM_ACTOR, claim, new, "refer", queue="review", reason=note)


def _auto_pay(p: Ports, claim: Claim) -> str:
    try:
        payout(p, SYSTEM_ACTOR, claim)
        return "paid"
    except BusinessRuleViolation as exc:
        _refused(p, claim, exc.message)
        return "unpayable"
    except Conflict:
        return "conflicts"  # re-read: paid by another path meanwhile, or try again


def _hold(p: Ports, claim: Claim, decision: Decision, now: datetime) -> str:
    """Held in assessing, in the staff queue with the failed rules as the reason, until an assessor
    decides or the channel corrects the claim (which asks for a new automatic decision)."""
    fresh = claim.status == "submitted"
    status = states.CLAIM.next_state(claim.status, "assess") if fresh else claim.status
    review = StaffReview(reason=decision.note or decision.rule, rule=decision.rule, since=now)
    held = advance(claim, now, status=status, decision=decision, note=decision.note, review=review)
    action = "assess" if fresh else "hold"
    commit(p, SYSTEM_ACTOR, claim, held, action, queue="review", announce=True, reason=decision.note)
    return "held"


def _apply(p: Ports, claim: Claim, decision: Decision, now: datetime) -> str:
    """Assess (if still submitted), then reject, or approve and pay. StaleWrite: changed meanwhile."""
    if decision.outcome == "hold":
        return _hold(p, claim, decision, now)
    cur = claim
    if cur.status == "submitted":
        assessing = advance(cur, now, status=states.CLAIM.next_state(cur.status, "assess"))
        cur = commit(p, SYSTEM_ACTOR, cur, assessing, "assess")
    if decision.outcome == "reject":
        status = states.CLAIM.next_state(cur.status, "reject")
        rejected = advance(cur, now, status=status, decision=decision, note=decision.note)
        commit(p, SYSTEM_ACTOR, cur, rejected, "reject", queue="remove", reason=decision.note)
        return "rejected"
    status = states.CLAIM.next_state(cur.status, "approve")
    approved = advance(cur, now, status=status, approved_amount=cur.amount, decision=decision, note=None)
    payable = policy_repo.payable(cur.policy_number, cents(cur.amount))
    cur = commit(p, SYSTEM_ACTOR, cur, approved, "approve", extra_ops=[payable])
    return _auto_pay(p, cur)


def _step(p: Ports, claim: Claim) -> str:
    if claim.status == "approved":  # approved earlier, the payout did not happen: pay now
        return _auto_pay(p, claim)
    if claim.status not in ("submitted", "assessing"):
        _dequeue(p, claim)
        return "skipped"
    decision = _decide(p, claim)
    return _apply(p, claim, decision, decision.at)


def auto_decide(p: Ports, number: str) -> str:
    """Decide one queued claim by rule: approve + pay, reject, or hold. Safe to repeat: a claim
    that is no longer queued (decided, paid) is left alone; one that changed meanwhile is re-read."""
    for _ in range(ATTEMPTS):
        item = p.store.get(*claim_repo.claim_key(number))
        if item is None or not claim_repo.is_queued(item):
            return "skipped"
        try:
            outcome = _step(p, claim_repo.claim_from_item(item))
        except StaleWrite:
            continue  # updated or decided meanwhile: read it again and re-run
        if outcome != "conflicts":
            return outcome
    return "conflicts"


def decide_request(p: Ports, body: Mapping[str, Any]) -> str:
    """One ClaimDecisionQueue message. Raises while the claim keeps changing under it, so the
    message comes back (and, after the last attempt, waits in the DLQ for the schedule)."""
    req = DecisionRequest.model_validate(body)
    outcome = auto_decide(p, req.claim_number)
    # A redelivery after a crash: send the webhooks the dead attempt committed but never queued.
    notices.resend_claim_hooks(p, req.claim_number)
    if outcome == "conflicts":
        raise Conflict(
            f"Claim {req.claim_number} kept changing while it was decided; the message is retried.",
            code="CLAIM_CHANGED",
            retry_after=1,
        )
    return outcome


def _decide_counted(p: Ports, out: AutoClaimsRun, number: str) -> None:
    try:
        outcome = auto_decide(p, number)
    except Exception:
        logger.exception("automatic claim decision failed", extra={"claim": number})
        outcome = "errors"
    setattr(out, outcome, getattr(out, outcome) + 1)


def run_auto_claims(
    p: Ports, *, limit: int = 200, page_size: int = 50, settled_for: timedelta = SAFETY_NET_AFTER
) -> AutoClaimsRun:
    """The scheduled safety net: claims queued for longer than ``settled_for``, oldest first, a
    bounded keyset-paginated Query on gsi3 (never a scan), then webhooks a crash left in the outbox."""
    out = AutoClaimsRun()
    until = p.now() - settled_for  # younger claims are decided by their own queue message
    last: str | None = None
    # Keyset pages, not paginate(): deciding a claim takes it out of the queue under the cursor,
    # so each page restarts from the last position seen, and the run stops at ``limit``.
    while True:
        page = claim_repo.queued(p.store, after=last, until=until, limit=page_size + 1)
        items = [i for i in page.items if i.get("gsi3sk") != last]
        if not items:
            break
        for i in items:
            if out.examined >= limit:
                out.more = True
                break
            out.examined += 1
            last = str(i["gsi3sk"])
            _decide_counted(p, out, claim_repo.number_of(str(i["pk"])))
        if out.more or not page.cursor:
            break
    out.webhooks_resent = notices.resend_hooks(p)
    return out
