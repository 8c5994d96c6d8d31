"""Policy lifecycle for channels: quote, underwrite, query, endorse, renew, cancel, expire.

The items, keys and indexes are described in ``repositories.policies`` (the policy, its versions
and lookups) and ``repositories.balances`` (its benefit quota items). Every change is one
transaction with its ledger entry and statistics counters (``services.ledger``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from petcover.domain import calendar, policy_terms, pricing, refund, states, underwriting
from petcover.domain.catalog import Benefit, Plan, ProductVersion
from petcover.domain.insurer_routing import INHOUSE
from petcover.domain.money import cents
from petcover.errors import BusinessRuleViolation, Conflict, DomainError, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.catalog import Contract
from petcover.models.insurers import InsurerAssignment, SettleReport
from petcover.models.policies import (
    BenefitBalance,
    CancelRequest,
    CancelResponse,
    EndorseRequest,
    EndorseResponse,
    Policy,
    PolicyHistory,
    PolicyVersion,
    QuoteRequest,
    QuoteResponse,
    RenewRequest,
    UnderwriteRequest,
)
from petcover.ports import Item, Ports, Put, WriteOp
from petcover.repositories import balances as balances_repo
from petcover.repositories import claims as claim_repo
from petcover.repositories import policies as policy_repo
from petcover.services import catalog, ledger, outbox
from petcover.services.insurers import issuing as insurer_issuing
from petcover.services.insurers import routing as insurer_routing
from petcover.services.money import checks
from petcover.services.risk import checks as risk_checks
from petcover.services.risk import underwriting as risk_underwriting

# The first run in a new environment has no watermark: it looks back this far for ended terms.


def _today(p: Ports) -> date:
    return calendar.today(p.now())


# ------------------------------------------------------------------ quote
def quote(p: Ports, who: Principal, req: QuoteRequest) -> QuoteResponse:
    contract = catalog.contract_of(p, who.id, req.product_code)
    product = catalog.on_sale(p, req.product_code)
    rated = risk_checks.rate(p, req.insured)
    q = pricing.quote(product, req.plan_code, req.insured, contract.premium_multiplier, rated)
    return QuoteResponse(quote=q, contract_version=contract.version)


# ------------------------------------------------------------------ underwrite
def _balance(product: ProductVersion, b: Benefit, start: date) -> BenefitBalance:
    return BenefitBalance(
        code=b.code,
        name=b.name,
        kind=b.kind,
        service_type=b.service_type,
        quota=b.quota,
        available=b.quota,
        amount_limit=b.amount_limit,
        available_from=underwriting.benefit_available_from(product, b, start),
        commodity_categories=list(b.commodity_categories),
        commodity_skus=list(b.commodity_skus),
        item_allowance=b.item_allowance,
    )


def _balances(product: ProductVersion, plan_code: str, start: date) -> list[BenefitBalance]:
    return [_balance(product, b, start) for b in product.plan(plan_code).benefits]


def _issue_ops(p: Ports, pol: Policy, contract: Contract) -> list[WriteOp]:
    """The policy, its order-id claim, its first version, one quota item per benefit, the premium."""
    return policy_ops(pol) + premium_ops(p, pol, contract)


def policy_ops(pol: Policy) -> list[WriteOp]:
    """The policy, its order-id claim, its first version, one quota item per benefit."""
    first = PolicyVersion(
        version=1,
        at=pol.created_at,
        action="issue",
        plan_code=pol.plan_code,
        premium=pol.premium,
        premium_change=pol.premium,
    )
    ops: list[WriteOp] = [
        Put(policy_repo.policy_item(pol), if_absent=True),
        Put(policy_repo.order_ref_item(pol), if_absent=True),
        Put(policy_repo.version_item(pol.number, first)),
    ]
    ops += [Put(balances_repo.quota_item(pol.number, b)) for b in pol.benefits]
    return ops


def premium_ops(p: Ports, pol: Policy, contract: Contract) -> list[WriteOp]:
    """The money of an issue (or renewal), posted when the policy becomes active."""
    return list(
        ledger.money_ops(
            p,
            channel_id=pol.channel_id,
            product_code=pol.product_code,
            plan_code=pol.plan_code,
            policy_number=pol.number,
            event="renew" if pol.renewed_from else "issue",
            amount=pol.premium,
            commission_pct=contract.commission_pct,
            counters={"n": 1, "premium": cents(pol.premium)},
            basis_at=pol.sold_at or pol.created_at,
            overview={"policies_issued": 1, "premium": cents(pol.premium)},
        )
    )


def commit_issue(p: Ports, pol: Policy, ops: list[WriteOp]) -> None:
    """One transaction; a lost order-id race is a 409 naming the policy the order already has."""
    try:
        p.store.transact(ops)
    except StaleWrite:
        existing = find_by_order(p, pol.channel_id, pol.channel_order_id, missing_ok=True)
        if existing is not None:
            raise Conflict(
                f"Order {pol.channel_order_id} already has policy {existing.number}.",
                code="DUPLICATE_ORDER",
                details={"policy_number": existing.number},
            ) from None
        raise


def prepare(
    p: Ports,
    channel_id: str,
    contract: Contract,
    product: ProductVersion,
    req: UnderwriteRequest,
    *,
    renewed_from: str | None = None,
) -> Policy:
    """Underwriting rules, price and number: the policy as it will be issued, not yet written."""
    today = _today(p)
    start = req.start_date or today
    policy_terms.check_start(start, today)
    policy_terms.check_sold_at(req.sold_at, p.now())
    active = policy_repo.active_count_for_insured(p.store, req.insured.insured_id, product.code)
    if renewed_from:
        active = max(0, active - 1)  # the policy being renewed is still active until it ends
    underwriting.assert_insurable(product, req.plan_code, req.insured, active, today)
    rated = risk_checks.rate(p, req.insured)
    q = pricing.quote(product, req.plan_code, req.insured, contract.premium_multiplier, rated)
    facts = risk_checks.policy_facts("underwrite", req.holder, req.insured, req.device_id, q.premium)
    decision = risk_checks.check(p, facts, APPLICATION, application_id(channel_id, req.channel_order_id))
    plan = product.plan(req.plan_code)
    number = policy_repo.next_number(p.store, today.year)
    return Policy(
        number=number,
        channel_id=channel_id,
        channel_order_id=req.channel_order_id,
        product_code=product.code,
        product_kind=product.kind,
        product_version=product.version,
        contract_version=contract.version,
        plan_code=plan.code,
        insured=req.insured,
        holder=req.holder,
        start_date=start,
        end_date=start + timedelta(days=plan.term_days),
        premium=q.premium,
        sum_insured=plan.sum_insured,
        remaining_sum_insured=plan.sum_insured,
        status="active",
        version=1,
        benefits=_balances(product, plan.code, start),
        created_at=p.now(),
        sold_at=req.sold_at,
        renewed_from=renewed_from,
        quote=q,
        risk=decision,
    )


APPLICATION = risk_underwriting.APPLICATION


def application_id(channel_id: str, order_id: str) -> str:
    return f"{channel_id}:{order_id}"


def issue(
    p: Ports,
    channel_id: str,
    contract: Contract,
    product: ProductVersion,
    req: UnderwriteRequest,
    *,
    renewed_from: str | None = None,
    extra_ops: list[WriteOp] | None = None,
    insurer: InsurerAssignment | None = None,
) -> Policy:
    """Underwriting rules, price, number, one transaction. Shared by channels, renewals and bulk."""
    pol = prepare(p, channel_id, contract, product, req, renewed_from=renewed_from)
    if insurer is not None:
        pol = pol.model_copy(update={"insurer": insurer})
    ops = _issue_ops(p, pol, contract) + risk_underwriting.ops(p, pol) + (extra_ops or [])
    with risk_underwriting.counted(p, pol):
        commit_issue(p, pol, ops)
    return pol


def underwrite(p: Ports, who: Principal, req: UnderwriteRequest) -> Policy:
    """In-house, or through the insurer the product's routing rules choose (``services.insurers``)."""
    contract = catalog.contract_of(p, who.id, req.product_code)
    product = catalog.on_sale(p, req.product_code)
    decision = insurer_routing.route(p, who.id, product.code)
    if decision.insurer_id == INHOUSE:
        pol = issue(p, who.id, contract, product, req, insurer=insurer_issuing.assignment(decision))
        insurer_routing.counted(p, product.code, decision)
        return pol
    prepared = prepare(p, who.id, contract, product, req)
    insurer_routing.counted(p, product.code, decision)
    writes = insurer_issuing.IssueWrites(
        policy=lambda pol: policy_ops(pol) + risk_underwriting.ops(p, pol), premium=premium_ops
    )
    with risk_underwriting.counted(p, prepared):
        pol = insurer_issuing.underwrite(p, prepared, contract, decision, writes)
    if pol.status == "failed":
        raise BusinessRuleViolation(
            f"No insurer issued policy {pol.number} for order {pol.channel_order_id}.",
            code="INSURER_DECLINED",
            details={
                "policy_number": pol.number,
                "insurer": pol.insurer.model_dump(mode="json") if pol.insurer else None,
            },
        )
    return pol


def settle_pending(p: Ports) -> SettleReport:
    """The schedule: drives every policy waiting for its insurer towards issued or failed."""
    return insurer_issuing.settle(p, ISSUE_WRITES)


ISSUE_WRITES = insurer_issuing.IssueWrites(policy=policy_ops, premium=premium_ops)


# ------------------------------------------------------------------ read
def _with_balances(p: Ports, pol: Policy) -> Policy:
    return pol.model_copy(update={"benefits": balances_repo.balances(p.store, pol.number)})


def load_policy(p: Ports, number: str, *, balances: bool = True) -> tuple[Policy, Item]:
    """The policy (with its balances unless ``balances=False``) and its item, read in one round trip
    either way: the contract check reads it first and hands the same read to the operation."""
    item, held = balances_repo.policy_and_balances(p.store, number)
    if item is None:
        raise NotFound(f"Policy {number} does not exist.", code="POLICY_NOT_FOUND")
    pol = policy_repo.policy_from_item(item)
    return (pol.model_copy(update={"benefits": held}) if balances else pol), item


def get_for(p: Ports, who: Principal, number: str) -> Policy:
    """A channel sees only its own policies: another channel's policy is simply not found."""
    pol, _ = load_policy(p, number)
    if not who.is_staff and pol.channel_id != who.id:
        raise NotFound(f"Policy {number} does not exist.", code="POLICY_NOT_FOUND")
    return pol


def find_by_order(p: Ports, channel_id: str, order_id: str, *, missing_ok: bool = False) -> Policy | None:
    pol = policy_repo.by_order(p.store, channel_id, order_id)
    if pol is None:
        if missing_ok:
            return None
        raise NotFound(f"No policy for order {order_id}.", code="POLICY_NOT_FOUND")
    return _with_balances(p, pol)


def find_by_number(p: Ports, number: str) -> list[Policy]:
    """The policy with this number, as a list of none or one (the staff lookup)."""
    try:
        return [load_policy(p, number.strip())[0]]
    except NotFound:
        return []


def find_by_insured(p: Ports, insured_id: str) -> list[Policy]:
    return policy_repo.by_insured(p.store, insured_id)


def history(p: Ports, who: Principal, number: str) -> PolicyHistory:
    get_for(p, who, number)
    return PolicyHistory(number=number, versions=policy_repo.versions(p.store, number))


# ------------------------------------------------------------------ endorse
def _endorse_contract(p: Ports, who: Principal, pol: Policy) -> Contract:
    """A channel endorses on its current contract; staff under the contract the policy was sold on."""
    if not who.is_staff:
        return catalog.contract_of(p, who.id, pol.product_code)
    return catalog.get_contract(p, pol.channel_id, pol.product_code, pol.contract_version)


def _quota_ops(pol: Policy, product: ProductVersion, new_plan: Plan, today: date) -> list[WriteOp]:
    """Quota follows the new plan: the difference in quota is added to what is available."""
    old = {b.code: b for b in pol.benefits}
    ops: list[WriteOp] = []
    for b in new_plan.benefits:
        before = old.get(b.code)
        if before is None:
            ops.append(Put(balances_repo.quota_item(pol.number, _balance(product, b, today)), if_absent=True))
        elif delta := policy_terms.quota_delta(before.quota, b.quota):
            ops.append(balances_repo.quota_resized(pol.number, b.code, delta))
    return ops


def _on_plan(pol: Policy, new_plan: Plan, change: Decimal) -> Policy:
    """The policy's next version on ``new_plan``; what was paid out stays paid out."""
    remaining = policy_terms.remaining_after_plan_change(
        pol.sum_insured, pol.remaining_sum_insured, new_plan.sum_insured
    )
    return pol.model_copy(
        update={
            "plan_code": new_plan.code,
            "premium": pol.premium + change,
            "sum_insured": new_plan.sum_insured,
            "remaining_sum_insured": remaining,
            "version": pol.version + 1,
        }
    )


def endorse(p: Ports, who: Principal, number: str, req: EndorseRequest) -> EndorseResponse:
    pol = get_for(p, who, number)
    contract = _endorse_contract(p, who, pol)
    states.POLICY.next_state(pol.status, "endorse")
    if req.plan_code == pol.plan_code:
        raise BusinessRuleViolation(f"The policy is already on plan {pol.plan_code}.", code="SAME_PLAN")
    product = catalog.get_version(p, pol.product_code, pol.product_version)
    new_plan = product.plan(req.plan_code)
    today = _today(p)
    fraction = refund.unearned_fraction(pol.start_date, pol.end_date, max(today, pol.start_date))
    multiplier = pol.quote.contract_multiplier if pol.quote else contract.premium_multiplier
    rated = risk_checks.rate(p, pol.insured)  # the rate factors in force, as a quote today applies them
    change = pricing.premium_difference(product, pol.plan_code, req.plan_code, pol.insured, multiplier, fraction, rated)
    repriced = pricing.quote(product, req.plan_code, pol.insured, multiplier, rated)
    updated = _on_plan(pol, new_plan, change).model_copy(update={"quote": repriced})
    version = PolicyVersion(
        version=updated.version,
        at=p.now(),
        action="endorse",
        plan_code=new_plan.code,
        premium=updated.premium,
        premium_change=change,
        reason=req.reason,
    )
    ops: list[WriteOp] = [
        policy_repo.endorsed(pol, updated),
        Put(policy_repo.version_item(number, version), if_absent=True),
        *_quota_ops(pol, product, new_plan, today),
    ]
    ops += ledger.money_ops(
        p,
        channel_id=pol.channel_id,
        product_code=pol.product_code,
        plan_code=new_plan.code,
        policy_number=number,
        event="endorse",
        amount=change,
        commission_pct=contract.commission_pct,
        counters={"premium": cents(change)},
        overview={"premium": cents(change)},
    )
    try:
        p.store.transact(ops)
    except StaleWrite:
        raise Conflict(
            "The policy changed meanwhile, or the new plan has less quota than is already used or held.",
            code="POLICY_CHANGED",
        ) from None
    return EndorseResponse(policy=_with_balances(p, updated), premium_change=change)


# ------------------------------------------------------------------ renew
def _renewal_terms(p: Ports, pol: Policy) -> tuple[Contract, ProductVersion]:
    """The contract and product on sale today; a product no longer sold is offered as a new one."""
    try:
        contract = catalog.contract_of(p, pol.channel_id, pol.product_code)
        product = catalog.on_sale(p, pol.product_code)
    except DomainError as exc:
        if exc.code in policy_terms.RENEWAL_BLOCKERS:
            raise BusinessRuleViolation(
                f"Policy {pol.number} cannot be renewed: {exc.message} Offer the customer a new product.",
                code="RENEWAL_NOT_AVAILABLE_OFFER_NEW_PRODUCT",
                details={"reason": exc.code},
            ) from None
        raise
    return contract, product


def renew(p: Ports, who: Principal, number: str, req: RenewRequest) -> Policy:
    pol = get_for(p, who, number)
    if pol.status != "active":
        states.POLICY.next_state(pol.status, "renew")
    today = _today(p)
    policy_terms.check_renewable(number, pol.end_date, today)
    contract, product = _renewal_terms(p, pol)
    new_req = UnderwriteRequest(
        product_code=pol.product_code,
        plan_code=pol.plan_code,
        insured=pol.insured,
        channel_order_id=req.channel_order_id,
        holder=pol.holder,
        start_date=req.start_date or max(pol.end_date, today),
    )
    return issue(p, pol.channel_id, contract, product, new_req, renewed_from=number)


# ------------------------------------------------------------------ cancel / expire
def _cancel_ops(
    p: Ports, pol: Policy, updated: Policy, contract: Contract, amount: Decimal, req: CancelRequest, now: datetime
) -> list[WriteOp]:
    """The cancellation, its version and its refund line; the PolicyCancelled event is added by the caller."""
    version = PolicyVersion(
        version=updated.version,
        at=now,
        action="cancel",
        plan_code=pol.plan_code,
        premium=pol.premium,
        premium_change=-amount,
        reason=req.reason,
    )
    ops: list[WriteOp] = [
        policy_repo.cancelled(pol, updated),
        Put(policy_repo.version_item(pol.number, version), if_absent=True),
    ]
    ops += ledger.money_ops(
        p,
        channel_id=pol.channel_id,
        product_code=pol.product_code,
        plan_code=pol.plan_code,
        policy_number=pol.number,
        event="refund",
        amount=-amount,
        commission_pct=contract.commission_pct,
        counters={"refunds": cents(amount)},
        overview={"cancellations": 1, "refunds": cents(amount)},
    )
    return ops


def cancel(p: Ports, who: Principal, number: str, req: CancelRequest) -> CancelResponse:
    pol = get_for(p, who, number)
    states.POLICY.next_state(pol.status, "cancel")
    product = catalog.get_version(p, pol.product_code, pol.product_version)
    contract = catalog.get_contract(p, pol.channel_id, pol.product_code, pol.contract_version)
    amount = refund.refund_amount(
        product.refund, pol.premium, pol.start_date, pol.end_date, _today(p), shipped=req.goods_shipped
    )
    checks.refund_within(pol.number, amount, pol.premium, lambda kind, text: checks.alert(p, kind, text))
    now = p.now()
    updated = pol.model_copy(
        update={"status": "cancelled", "cancelled_at": now, "refund": amount, "version": pol.version + 1}
    )
    ops = _cancel_ops(p, pol, updated, contract, amount, req, now)
    if risk_checks.reads_refunds(p):  # a refund after a claim counts in the insured's history
        had_claims = bool(claim_repo.of_policy(p.store, number, limit=1, cursor=None)[0])
        ops += risk_checks.refund_after_claim_ops(pol, had_claims)
    # Fulfilment listens: open appointments are cancelled and their holds released. The event is
    # in the outbox, written with the cancellation, so a crash after the commit cannot lose it.
    announce, cancelled_id = outbox.message(
        p,
        detail_type="PolicyCancelled",
        body={"policy_number": number, "channel_id": pol.channel_id, "reason": req.reason},
    )
    ops.append(announce)
    try:
        p.store.transact(ops)
    except StaleWrite:
        raise Conflict("The policy changed meanwhile; reload and retry.", code="POLICY_CHANGED") from None
    outbox.release(p, cancelled_id)
    return CancelResponse(policy=_with_balances(p, updated), refund=amount)
