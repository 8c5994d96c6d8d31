"""Paying an approved claim: one transaction moves the claim to paid, lowers the policy's
``remaining`` sum insured with an ADD guarded by ``remaining >= cents`` (it can never go below
zero), and writes the ledger entry and the ``claim_amount`` counter.
"""

from __future__ import annotations

from decimal import Decimal

from petcover.domain import states
from petcover.domain.money import cents as to_cents
from petcover.errors import BusinessRuleViolation, DomainError, StaleWrite
from petcover.identity import Principal
from petcover.models.claims import Claim, PayRequest
from petcover.ports import Ports, WriteOp
from petcover.repositories import policies as policy_repo
from petcover.services import audit, ledger, policies
from petcover.services.claims import lookups
from petcover.services.claims.transitions import advance, commit, exceeds, refusal
from petcover.services.money import checks


def check_payable(p: Ports, policy_number: str, cents: int) -> None:
    """The policy is active and ``cents`` fit in what is left of its sum insured."""
    pol, item = policies.load_policy(p, policy_number, balances=False)
    if pol.status != "active":
        raise BusinessRuleViolation(
            f"Policy {pol.number} is {pol.status}; nothing can be paid on it.", code="POLICY_NOT_ACTIVE"
        )
    remaining = policy_repo.remaining_cents(item)
    if cents > remaining:
        raise _alerted(p, exceeds(pol.number, remaining, cents), policy_number)


def pay(p: Ports, who: Principal, number: str, req: PayRequest) -> Claim:
    """Finance marks an approved claim paid (the payout transaction)."""
    claim, _ = lookups.visible(p, who, number)
    return payout(p, audit.actor_name(who), claim, reference=req.reference)


def payout(p: Ports, actor: str, claim: Claim, *, reference: str | None = None) -> Claim:
    status = states.CLAIM.next_state(claim.status, "pay")
    amount = claim.approved_amount if claim.approved_amount is not None else claim.amount
    cents = to_cents(amount)
    check_payable(p, claim.policy_number, cents)
    now = p.now()
    new = advance(claim, now, status=status, paid_amount=amount, paid_at=now, payment_reference=reference, review=None)
    extra: list[WriteOp] = [
        policy_repo.paid_out(claim.policy_number, cents),
        *ledger.money_ops(
            p,
            channel_id=claim.channel_id,
            product_code=claim.product_code,
            plan_code=claim.plan_code,
            policy_number=claim.policy_number,
            event="claim_payout",
            amount=-amount,  # flows back to the insured: a negative line on the channel statement
            commission_pct=Decimal(0),
            counters={"claim_amount": cents},
            ref=claim.claim_number,
            overview={"claims_paid": 1, "claims_paid_amount": cents},
        ),
    ]
    try:
        return commit(p, actor, claim, new, "pay", queue="remove", extra_ops=extra, reason=reference)
    except StaleWrite:
        raise _alerted(p, refusal(p, claim, cents), claim.policy_number, claim.claim_number) from None


def _alerted(p: Ports, err: DomainError, policy_number: str, claim_number: str = "") -> DomainError:
    """A payout above the remaining sum insured is a failed real-time money check: ops hear at once."""
    if err.code == "SUM_INSURED_EXCEEDED":
        d = err.details if isinstance(err.details, dict) else {}
        checks.alert(
            p,
            "payout_above_sum_insured",
            f"{claim_number or policy_number}: payout {d.get('amount')} > remaining {d.get('remaining')}",
        )
    return err
