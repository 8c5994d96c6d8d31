"""The automatic claims job: return-shipping claims queued on submission (or re-queued by an
update) are decided by rule (``domain.claim_rules``), then approved and paid, rejected, or held in
assessing with a note until the channel updates them.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from petcover.domain import calendar, claim_rules, states
from petcover.domain.money import cents, from_cents
from petcover.errors import BusinessRuleViolation, Conflict, StaleWrite
from petcover.models.claims import AutoClaimsRun, Claim, Decision
from petcover.observability import logger
from petcover.ports import Ports
from petcover.repositories import claims as claim_repo
from petcover.repositories import policies as policy_repo
from petcover.services import policies
from petcover.services.claims import lookups, notices
from petcover.services.claims.payouts import payout
from petcover.services.claims.transitions import ATTEMPTS, advance, commit

SYSTEM_ACTOR = "system:auto-claims"


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


def _dequeue(p: Ports, claim: Claim, note: str | None = None) -> None:
    new = advance(claim, p.now(), note=note or claim.note)
    with contextlib.suppress(StaleWrite):  # changed meanwhile: the next run looks again
        commit(p, SYSTEM_ACTOR, claim, new, "dequeue", queue="remove", reason=note)


def _auto_pay(p: Ports, claim: Claim) -> str:
    try:
        payout(p, SYSTEM_ACTOR, claim)
        return "paid"
    except BusinessRuleViolation as exc:
        # Approved, but the sum insured was used up (or the policy ended) since: finance decides.
        _dequeue(p, claim, note=f"Automatic payout refused: {exc.message}")
        return "unpayable"
    except Conflict:
        return "conflicts"  # still queued: the next run tries again


def _hold(p: Ports, claim: Claim, decision: Decision, now: datetime) -> str:
    """Held in assessing with the failed rules as a note, out of the queue until updated."""
    fresh = claim.status == "submitted"
    status = states.CLAIM.next_state(claim.status, "assess") if fresh else claim.status
    held = advance(claim, now, status=status, decision=decision, note=decision.note)
    action = "assess" if fresh else "hold"
    commit(p, SYSTEM_ACTOR, claim, held, action, queue="remove", announce=True, reason=decision.note)
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


def auto_decide(p: Ports, number: str) -> str:
    """Decide one queued claim by rule: approve + pay, reject, or hold. Safe to repeat: a claim
    that is no longer queued (or changed meanwhile) is left alone or re-read."""
    for _ in range(ATTEMPTS):
        item = p.store.get(*claim_repo.claim_key(number))
        if item is None or not claim_repo.is_queued(item):
            return "skipped"
        claim = claim_repo.claim_from_item(item)
        if claim.status == "approved":
            return _auto_pay(p, claim)
        if claim.status not in ("submitted", "assessing"):
            _dequeue(p, claim)
            return "skipped"
        decision = _decide(p, claim)
        try:
            return _apply(p, claim, decision, decision.at)
        except StaleWrite:
            continue  # updated or decided meanwhile: read it again and re-run
    return "conflicts"


def _decide_counted(p: Ports, out: AutoClaimsRun, number: str) -> None:
    try:
        outcome = auto_decide(p, number)
    except Exception:
        logger.exception("automatic claim decision failed", extra={"claim": number})
        outcome = "errors"
    setattr(out, outcome, getattr(out, outcome) + 1)


def run_auto_claims(p: Ports, *, limit: int = 200, page_size: int = 50) -> AutoClaimsRun:
    """The scheduled job: queued claims oldest first, a bounded keyset-paginated Query on gsi3
    (never a scan), then webhooks a crash left in the outbox."""
    out = AutoClaimsRun()
    until = p.now()  # claims updated after the run started wait for the next run
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
