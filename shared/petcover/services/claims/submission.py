"""Opening a claim: a channel applies on its own policy, or service staff open one for a customer
who phoned. A repeat of the channel's own reference returns the same claim.

A submission counts ``claims`` in the policy's statistics rows in the same transaction. An
automatic claim asks for its decision in that transaction too (``transitions.DECISION_QUEUE``,
through the outbox); any other goes straight to the staff queue with the reason.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Literal

from petcover.config import get_settings
from petcover.domain import calendar, claim_rules, i18n
from petcover.domain.insurer_routing import INHOUSE
from petcover.domain.risk import RiskDecision
from petcover.errors import BusinessRuleViolation, Conflict, InvalidInput, StaleWrite
from petcover.identity import Principal
from petcover.models.claims import Claim, ClaimCreate, OpsClaimCreate, StaffReview
from petcover.models.policies import Policy
from petcover.ports import Ports, Put, WriteOp
from petcover.repositories import claims as claim_repo
from petcover.repositories import ledger as ledger_repo
from petcover.repositories import overview as overview_repo
from petcover.services import audit, catalog, outbox
from petcover.services.claims import lookups, notices
from petcover.services.claims.transitions import DECISION_QUEUE, brief, decision_body
from petcover.services.risk import checks as risk_checks

Source = Literal["channel", "ops"]


def check_incident_date(incident_date: date, today: date) -> None:
    if incident_date > today:
        raise InvalidInput(
            "The incident date cannot be in the future.",
            code="VALIDATION_FAILED",
            details=[{"field": "incident_date", "message": "after today", "type": "date_rule"}],
        )


def _request_hash(policy_number: str, req: ClaimCreate) -> str:
    fields = set(ClaimCreate.model_fields) - ({"device_id"} if req.device_id is None else set())
    body = req.model_dump(mode="json", include=fields)
    return hashlib.sha256(json.dumps([policy_number, body], sort_keys=True).encode()).hexdigest()


def _by_ref(p: Ports, channel_id: str, ref: str, policy_number: str, req: ClaimCreate) -> Claim | None:
    """A repeat of the same channel reference: the same claim, or 409 when the request differs."""
    item = p.store.get(*claim_repo.ref_key(channel_id, ref))
    if item is None:
        return None
    number = str(item["ref"])
    if claim_repo.ref_request_hash(item) != _request_hash(policy_number, req):
        raise Conflict(
            f"Claim reference {ref} was already used for claim {number} with other details.",
            code="CLAIM_REF_REUSED",
            details={"claim_number": number},
        )
    return claim_repo.load(p.store, number)[0]


def _new_claim(
    p: Ports, who: Principal, pol: Policy, req: ClaimCreate, source: Source, decision: RiskDecision | None
) -> Claim:
    product = catalog.get_version(p, pol.product_code, pol.product_version)
    benefit = claim_rules.claimed_benefit(product.plan(pol.plan_code), req.benefit_code, product.kind)
    number = claim_repo.next_number(p.store, p.now())
    now = p.now()
    auto = claim_rules.is_auto(product.kind, benefit.code)
    review = None
    if not auto:
        reason = f"Benefit {benefit.code} of {pol.product_code} has no automatic rules: an assessor decides."
        review = StaffReview(reason=reason, rule="manual_benefit", since=now)
    if decision is not None and decision.outcome == "review":
        auto = False  # a person looks at it first, whatever the automatic rules would say
        reason = i18n.text("risk.review", get_settings().language, reason=decision.reason())
        review = StaffReview(reason=reason, rule="risk", since=now)
    return Claim(
        claim_number=number,
        policy_number=pol.number,
        channel_id=pol.channel_id,
        channel_claim_id=req.channel_claim_id,
        product_code=pol.product_code,
        product_kind=product.kind,
        product_version=pol.product_version,
        plan_code=pol.plan_code,
        benefit_code=benefit.code,
        status="submitted",
        version=1,
        auto=auto,
        review=review,
        source=source,
        opened_by=audit.actor_name(who),
        incident_date=req.incident_date,
        incident_type=req.incident_type,
        description=req.description,
        amount=req.amount,
        currency=pol.currency,
        evidence=req.evidence,
        risk=decision,
        submitted_at=now,
        updated_at=now,
    )


def _open(p: Ports, who: Principal, pol: Policy, req: ClaimCreate, source: Source) -> Claim:
    check_incident_date(req.incident_date, calendar.today(p.now()))
    ref = req.channel_claim_id
    if ref:
        existing = _by_ref(p, pol.channel_id, ref, pol.number, req)
        if existing is not None:
            return existing
    facts = risk_checks.policy_facts("claim", pol.holder, pol.insured, req.device_id, req.amount)
    decision = risk_checks.check(p, facts, "claim_application", pol.number)
    claim = _new_claim(p, who, pol, req, source, decision)
    hook = notices.outbox_item(claim, "none", claim.submitted_at)
    underwriter = pol.insurer.insurer_id if pol.insurer and pol.insurer.insurer_id != INHOUSE else None
    ops: list[WriteOp] = [Put(claim_repo.new_claim_item(claim, underwriter), if_absent=True)]
    if ref:
        request = _request_hash(pol.number, req)
        ops.append(Put(claim_repo.ref_item(pol.channel_id, ref, claim.claim_number, request), if_absent=True))
    on = calendar.day_of(claim.submitted_at)
    ops += ledger_repo.stat_updates(pol.channel_id, pol.product_code, pol.plan_code, on, {"claims": 1})
    ops.append(overview_repo.day_add(on, {"claims_opened": 1}))
    ops.append(Put(hook, if_absent=True))
    action = "submit" if source == "channel" else "open"
    ops.append(audit.entry(p, who, "claim", claim.claim_number, action, after=brief(claim)))
    ops += risk_checks.ops(p, decision, "claim", claim.claim_number, "claim")
    decide: list[str] = []
    if claim.auto:
        request_op, oid = outbox.message(p, queue=DECISION_QUEUE, body=decision_body(claim))
        ops.append(request_op)
        decide.append(oid)
    try:
        with risk_checks.counted(p, facts, decision, "claim_application", pol.number):
            p.store.transact(ops)
    except StaleWrite:
        if ref:  # lost a race with the same reference
            existing = _by_ref(p, pol.channel_id, ref, pol.number, req)
            if existing is not None:
                return existing
        raise
    notices.announce(p, hook)  # the channel hears of the claim before its decision
    outbox.release(p, *decide)
    return claim


def submit(p: Ports, who: Principal, policy_number: str, req: ClaimCreate) -> Claim:
    """A channel applies for a claim on its own policy; answers at once with the claim number."""
    pol, _ = lookups.policy_of(p, who, policy_number)
    return _open(p, who, pol, req, "channel")


def open_for_customer(p: Ports, who: Principal, policy_number: str, req: OpsClaimCreate) -> Claim:
    """Service staff open a claim for a customer who phoned, after the identity check."""
    if not req.identity_verified:
        raise BusinessRuleViolation(
            "The caller's identity must be verified before a claim is opened for them.",
            code="IDENTITY_NOT_VERIFIED",
        )
    pol, _ = lookups.policy_of(p, who, policy_number)
    return _open(p, who, pol, req, "ops")
