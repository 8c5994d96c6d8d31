"""Money moved by hand, under maker-checker: manual refunds, payout corrections, ledger adjustments and
reversals are requested by one member of finance with a reason and approved (or rejected) by another.
Approval posts the balanced journal in the same transaction as the decision and its audit record; the
real-time checks run when it is requested and again when it is approved.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from petcover.domain import journal
from petcover.domain.money import LedgerEntry
from petcover.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.money import MoneyDecision, MoneyRequest, MoneyRequestCreate
from petcover.ports import Ports, WriteOp
from petcover.repositories import claims as claims_repo
from petcover.repositories import ledger as ledger_repo
from petcover.repositories import money_requests as repo
from petcover.repositories import policies as policy_repo
from petcover.services import audit, policies
from petcover.services.money import checks, journals


def create(p: Ports, who: Principal, spec: MoneyRequestCreate) -> MoneyRequest:
    _prepare(p, spec, "requester", once="")  # the real-time checks, before anyone is asked to approve
    req = MoneyRequest(
        request_id=uuid.uuid4().hex[:16],
        status="requested",
        spec=spec,
        requested_by=audit.actor_name(who),
        requested_at=p.now(),
    )
    p.store.transact(
        [
            repo.new_item(req),
            audit.entry(
                p,
                who,
                "money_request",
                req.request_id,
                "request",
                after=req.model_dump(mode="json"),
                request_id=who.request_id,
                reason=spec.reason,
            ),
        ]
    )
    return req


def get(p: Ports, request_id: str) -> MoneyRequest:
    found = repo.get(p.store, request_id)
    if found is None:
        raise NotFound(f"Money request {request_id} does not exist.", code="MONEY_REQUEST_NOT_FOUND")
    return found


def pending(p: Ports) -> list[MoneyRequest]:
    return repo.by_state(p.store, "requested")


def decide(p: Ports, who: Principal, request_id: str, d: MoneyDecision) -> MoneyRequest:
    req = get(p, request_id)
    actor = audit.actor_name(who)
    if req.status != "requested":
        raise Conflict(f"Money request {request_id} is already {req.status}.", code="ILLEGAL_TRANSITION")
    if actor == req.requested_by:
        raise Forbidden(
            "A money request must be approved or rejected by someone other than who asked.", code="SAME_PERSON"
        )
    ops: list[WriteOp] = []
    journal_id = None
    if d.decision == "approve":
        entry, extra, once = _prepare(
            p, req.spec, actor, once=ledger_repo.once_key("REQUEST", request_id), reason=req.spec.reason
        )
        ops += [*journals.post_ops(entry, once=once), *extra]
        journal_id = entry.id
    after = req.model_copy(
        update={
            "status": "approved" if d.decision == "approve" else "rejected",
            "decided_by": actor,
            "decided_at": p.now(),
            "note": d.note,
            "journal_id": journal_id,
        }
    )
    ops += [
        repo.decided(req, after),
        audit.entry(
            p,
            who,
            "money_request",
            request_id,
            d.decision,
            before=req.model_dump(mode="json"),
            after=after.model_dump(mode="json"),
            request_id=who.request_id,
            reason=d.note or req.spec.reason,
        ),
    ]
    try:
        p.store.transact(ops)
    except StaleWrite:
        raise Conflict(
            f"Money request {request_id} changed meanwhile, or what it moves changed (already "
            "reversed, sum insured used up); reload it.",
            code="MONEY_REQUEST_CHANGED",
        ) from None
    return after


def _prepare(
    p: Ports, s: MoneyRequestCreate, actor: str, *, once: str, reason: str | None = None
) -> tuple[LedgerEntry, list[WriteOp], str]:
    """The journal a request would post, what else moves with it and its once-only key (checks first)."""
    amount = s.amount or Decimal(0)
    if s.kind == "manual_refund":
        pol, _ = policies.load_policy(p, str(s.policy_number), balances=False)
        checks.refund_within_premium(p, pol.number, amount)
        e = journals.entry(
            p,
            book=pol.channel_id,
            event="manual_refund",
            lines=journal.transfer("premium_refunds", "cash", amount),
            amount=-amount,
            channel_id=pol.channel_id,
            product_code=pol.product_code,
            plan_code=pol.plan_code,
            policy_number=pol.number,
            actor=actor,
            reason=reason,
        )
        return e, [], once
    if s.kind == "payout_correction":
        return _payout_correction(p, s, amount, actor, reason, once)
    if s.kind == "ledger_adjustment":
        debit, credit = _account(str(s.debit_account)), _account(str(s.credit_account))
        e = journals.entry(
            p,
            book=str(s.book),
            event="adjustment",
            lines=journal.transfer(debit, credit, amount),
            amount=amount,
            channel_id=str(s.book) if ":" not in str(s.book) else "",
            actor=actor,
            reason=reason,
        )
        return e, [], once
    original = journals.load(p, str(s.book), str(s.period), str(s.journal_id))
    if ledger_repo.find_mark(p.store, ledger_repo.once_key("REVERSAL", original.id)):
        raise Conflict(f"Journal {original.id} is already reversed.", code="ALREADY_REVERSED")
    e, key = journals.reversal(p, original, reason=reason or s.reason, actor=actor)
    return e, [], key


def _payout_correction(
    p: Ports, s: MoneyRequestCreate, amount: Decimal, actor: str, reason: str | None, once: str
) -> tuple[LedgerEntry, list[WriteOp], str]:
    item = p.store.get(*claims_repo.claim_key(str(s.claim_number)))
    claim = claims_repo.claim_from_item(item) if item else None
    if claim is None or claim.paid_amount is None:
        raise NotFound(f"Claim {s.claim_number} has not been paid.", code="CLAIM_NOT_PAID")
    extra: list[WriteOp] = []
    if amount > 0:
        pol, _ = policies.load_policy(p, claim.policy_number, balances=False)
        checks.payout_within_sum_insured(p, pol.number, amount, pol.remaining_sum_insured)
        extra.append(policy_repo.paid_out(pol.number, journal_cents(amount)))
    elif -amount > claim.paid_amount:
        checks.alert(p, "clawback_above_payout", f"{claim.claim_number}: {amount} against {claim.paid_amount}")
        raise InvalidInput("A clawback cannot exceed what was paid.", code="CORRECTION_ABOVE_PAYOUT")
    e = journals.entry(
        p,
        book=claim.channel_id,
        event="payout_correction",
        lines=journal.payout_lines(amount),
        amount=-amount,
        channel_id=claim.channel_id,
        product_code=claim.product_code,
        plan_code=claim.plan_code,
        policy_number=claim.policy_number,
        ref=claim.claim_number,
        actor=actor,
        reason=reason,
    )
    return e, extra, once


def journal_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _account(name: str) -> str:
    base, _, party = name.partition(":")
    try:
        return journal.account(base, party or None)
    except ValueError as exc:
        raise InvalidInput(f"Unknown account {name}: {exc}.", code="UNKNOWN_ACCOUNT") from None
