"""Policy lifecycle for channels: quote, underwrite, query, endorse, renew, cancel, expire.

Items (single table):
  POLICY#{number} / POLICY          the policy (state, version, remaining sum insured in cents)
  POLICY#{number} / QUOTA#{benefit} quota balance: quota, used, held, available (guarded counters)
  POLICY#{number} / VER#{n}         version history (endorsements, renewals, cancellation)
  ORDERREF#{channel}#{order_id}     uniqueness of the channel's own order id
  SEQ#POLICY / SEQ                  the policy-number counter (atomic ADD, never reused)
GSIs: gsi1 CHPOL#{channel}#{order_id} (lookup by the channel's order id), gsi2 INSURED#{id}
(policies of an insured), gsi3 EXPIRY#{end date} (the expiry job's bounded daily query).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from petcover.domain import pricing, refund, states, underwriting
from petcover.domain.catalog import Benefit, ProductVersion
from petcover.errors import BusinessRuleViolation, Conflict, DomainError, InvalidInput, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.catalog import Contract
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
from petcover.ports import Cond, Item, Ports, Put, Update, WriteOp
from petcover.services import catalog, ledger, outbox

MAX_START_AHEAD_DAYS = 90
RENEWAL_WINDOW_DAYS = 30


def policy_key(number: str) -> tuple[str, str]:
    return f"POLICY#{number}", "POLICY"


def quota_key(number: str, benefit: str) -> tuple[str, str]:
    return f"POLICY#{number}", f"QUOTA#{benefit}"


def _today(p: Ports) -> date:
    return p.now().date()


# ------------------------------------------------------------------ quote
def quote(p: Ports, who: Principal, req: QuoteRequest) -> QuoteResponse:
    contract = catalog.authorize(p, who.id, req.product_code, "quote", _today(p))
    product = catalog.on_sale(p, req.product_code)
    q = pricing.quote(product, req.plan_code, req.insured, contract.premium_multiplier)
    return QuoteResponse(quote=q, contract_version=contract.version)


# ------------------------------------------------------------------ underwrite
def _next_number(p: Ports) -> str:
    item = p.store.update("SEQ#POLICY", "SEQ", add={"seq": 1})
    year = p.now().year
    return f"PC{year}{int(item['seq']):09d}"


def _active_for_insured(p: Ports, insured_id: str, product_code: str) -> int:
    page = p.store.query(f"INSURED#{insured_id}", index="gsi2", sk_prefix=f"{product_code}#", limit=100)
    return sum(1 for i in page.items if i.get("state") == "active")


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
    )


def _balances(product: ProductVersion, plan_code: str, start: date) -> list[BenefitBalance]:
    return [_balance(product, b, start) for b in product.plan(plan_code).benefits]


def _quota_item(number: str, b: BenefitBalance) -> Item:
    """A fresh balance: its counters are top-level so bookings can move them with guarded ADDs."""
    qpk, qsk = quota_key(number, b.code)
    item: Item = {"pk": qpk, "sk": qsk, "kind": "quota", "data": b.model_dump_json()}
    if b.quota is not None:
        item.update({"quota": b.quota, "used": 0, "held": 0, "available": b.quota})
    return item


def _policy_items(pol: Policy) -> list[WriteOp]:
    pk, sk = policy_key(pol.number)
    ops: list[WriteOp] = [
        Put(
            {
                "pk": pk,
                "sk": sk,
                "kind": "policy",
                "state": pol.status,
                "version": pol.version,
                "owner": pol.channel_id,
                "ref": pol.channel_order_id,
                "remaining": ledger.cents(pol.remaining_sum_insured),
                "gsi1pk": f"CHPOL#{pol.channel_id}#{pol.channel_order_id}",
                "gsi1sk": "POLICY",
                "gsi2pk": f"INSURED#{pol.insured.insured_id}",
                "gsi2sk": f"{pol.product_code}#{pol.number}",
                "gsi3pk": f"EXPIRY#{pol.end_date.isoformat()}",
                "gsi3sk": pol.number,
                "data": pol.model_dump_json(exclude={"benefits"}),
            },
            if_absent=True,
        ),
        Put(
            {
                "pk": f"ORDERREF#{pol.channel_id}#{pol.channel_order_id}",
                "sk": "ORDERREF",
                "kind": "orderref",
                "ref": pol.number,
            },
            if_absent=True,
        ),
        Put(
            {
                "pk": pk,
                "sk": "VER#00001",
                "kind": "policy_version",
                "data": PolicyVersion(
                    version=1,
                    at=pol.created_at,
                    action="issue",
                    plan_code=pol.plan_code,
                    premium=pol.premium,
                    premium_change=pol.premium,
                ).model_dump_json(),
            }
        ),
    ]
    ops += [Put(_quota_item(pol.number, b)) for b in pol.benefits]
    return ops


def issue(
    p: Ports,
    channel_id: str,
    contract: Contract,
    product: ProductVersion,
    req: UnderwriteRequest,
    *,
    renewed_from: str | None = None,
    extra_ops: list[WriteOp] | None = None,
) -> Policy:
    """Underwriting rules, price, number, one transaction. Shared by channels, renewals and bulk."""
    today = _today(p)
    start = req.start_date or today
    if start < today or start > today + timedelta(days=MAX_START_AHEAD_DAYS):
        raise InvalidInput(
            f"The start date must be between today and {MAX_START_AHEAD_DAYS} days ahead.",
            code="VALIDATION_FAILED",
            details=[{"field": "start_date", "message": "out of range"}],
        )
    active = _active_for_insured(p, req.insured.insured_id, product.code)
    if renewed_from:
        active = max(0, active - 1)  # the policy being renewed is still active until it ends
    underwriting.assert_insurable(product, req.plan_code, req.insured, active, today)
    q = pricing.quote(product, req.plan_code, req.insured, contract.premium_multiplier)
    plan = product.plan(req.plan_code)
    number = _next_number(p)
    now = p.now()
    pol = Policy(
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
        created_at=now,
        renewed_from=renewed_from,
        quote=q,
    )
    ops = _policy_items(pol)
    ops += ledger.money_ops(
        p,
        channel_id=channel_id,
        product_code=product.code,
        plan_code=plan.code,
        policy_number=number,
        event="renew" if renewed_from else "issue",
        amount=q.premium,
        commission_pct=contract.commission_pct,
        counters={"n": 1, "premium": ledger.cents(q.premium)},
    )
    ops += extra_ops or []
    try:
        p.store.transact(ops)
    except StaleWrite:
        existing = find_by_order(p, channel_id, req.channel_order_id, missing_ok=True)
        if existing is not None:
            raise Conflict(
                f"Order {req.channel_order_id} already has policy {existing.number}.",
                code="DUPLICATE_ORDER",
                details={"policy_number": existing.number},
            ) from None
        raise
    return pol


def underwrite(p: Ports, who: Principal, req: UnderwriteRequest) -> Policy:
    contract = catalog.authorize(p, who.id, req.product_code, "underwrite", _today(p))
    product = catalog.on_sale(p, req.product_code)
    return issue(p, who.id, contract, product, req)


# ------------------------------------------------------------------ read
def _load(item: Item) -> Policy:
    d = json.loads(item["data"])
    d["status"] = item.get("state", d.get("status"))
    d["version"] = int(item.get("version", d.get("version", 1)))
    if "remaining" in item:
        d["remaining_sum_insured"] = str(Decimal(int(item["remaining"])) / 100)
    d.setdefault("benefits", [])
    return Policy.model_validate(d)


def _with_balances(p: Ports, pol: Policy) -> Policy:
    page = p.store.query(f"POLICY#{pol.number}", sk_prefix="QUOTA#", limit=50)
    balances = []
    for i in page.items:
        b = BenefitBalance.model_validate(json.loads(i["data"]))
        if "quota" in i:
            b.quota, b.used, b.held, b.available = (
                int(i["quota"]),
                int(i.get("used", 0)),
                int(i.get("held", 0)),
                int(i.get("available", 0)),
            )
        balances.append(b)
    return pol.model_copy(update={"benefits": balances})


def load_policy(p: Ports, number: str, *, balances: bool = True) -> tuple[Policy, Item]:
    item = p.store.get(*policy_key(number))
    if item is None:
        raise NotFound(f"Policy {number} does not exist.", code="POLICY_NOT_FOUND")
    pol = _load(item)
    return (_with_balances(p, pol) if balances else pol), item


def get_for(p: Ports, who: Principal, number: str) -> Policy:
    """A channel sees only its own policies: another channel's policy is simply not found."""
    pol, _ = load_policy(p, number)
    if not who.is_staff and pol.channel_id != who.id:
        raise NotFound(f"Policy {number} does not exist.", code="POLICY_NOT_FOUND")
    return pol


def find_by_order(p: Ports, channel_id: str, order_id: str, *, missing_ok: bool = False) -> Policy | None:
    page = p.store.query(f"CHPOL#{channel_id}#{order_id}", index="gsi1", limit=5)
    if not page.items:
        if missing_ok:
            return None
        raise NotFound(f"No policy for order {order_id}.", code="POLICY_NOT_FOUND")
    return _with_balances(p, _load(page.items[0]))


def find_by_insured(p: Ports, insured_id: str) -> list[Policy]:
    page = p.store.query(f"INSURED#{insured_id}", index="gsi2", limit=100)
    return [_load(i) for i in page.items]


def history(p: Ports, who: Principal, number: str) -> PolicyHistory:
    get_for(p, who, number)
    page = p.store.query(f"POLICY#{number}", sk_prefix="VER#", limit=200)
    return PolicyHistory(
        number=number, versions=[PolicyVersion.model_validate(json.loads(i["data"])) for i in page.items]
    )


# ------------------------------------------------------------------ endorse
def endorse(p: Ports, who: Principal, number: str, req: EndorseRequest) -> EndorseResponse:
    pol = get_for(p, who, number)
    contract = (
        catalog.authorize(p, who.id, pol.product_code, "endorse", _today(p))
        if not who.is_staff
        else (catalog.get_contract(p, pol.channel_id, pol.product_code, pol.contract_version))
    )
    states.POLICY.next_state(pol.status, "endorse")
    if req.plan_code == pol.plan_code:
        raise BusinessRuleViolation(f"The policy is already on plan {pol.plan_code}.", code="SAME_PLAN")
    product = catalog.get_version(p, pol.product_code, pol.product_version)
    new_plan = product.plan(req.plan_code)
    today = _today(p)
    fraction = refund.unearned_fraction(pol.start_date, pol.end_date, max(today, pol.start_date))
    change = pricing.premium_difference(
        product,
        pol.plan_code,
        req.plan_code,
        pol.insured,
        pol.quote.contract_multiplier if pol.quote else contract.premium_multiplier,
        fraction,
    )
    now = p.now()
    new_version = pol.version + 1
    paid_out = pol.sum_insured - pol.remaining_sum_insured
    new_remaining = max(Decimal(0), new_plan.sum_insured - paid_out)
    updated = pol.model_copy(
        update={
            "plan_code": new_plan.code,
            "premium": pol.premium + change,
            "sum_insured": new_plan.sum_insured,
            "remaining_sum_insured": new_remaining,
            "version": new_version,
        }
    )
    pk, sk = policy_key(number)
    ops: list[WriteOp] = [
        Update(
            pk,
            sk,
            set={
                "data": updated.model_dump_json(exclude={"benefits"}),
                "version": new_version,
                "remaining": ledger.cents(new_remaining),
            },
            # A claim payout moves `remaining` without bumping the version: guard it too.
            expect=[
                ("version", "=", pol.version),
                ("state", "=", "active"),
                ("remaining", "=", ledger.cents(pol.remaining_sum_insured)),
            ],
        ),
        Put(
            {
                "pk": pk,
                "sk": f"VER#{new_version:05d}",
                "kind": "policy_version",
                "data": PolicyVersion(
                    version=new_version,
                    at=now,
                    action="endorse",
                    plan_code=new_plan.code,
                    premium=updated.premium,
                    premium_change=change,
                    reason=req.reason,
                ).model_dump_json(),
            },
            if_absent=True,
        ),
    ]
    # Quota follows the new plan: the difference in quota is added to what is available.
    old = {b.code: b for b in pol.benefits}
    for b in new_plan.benefits:
        qpk, qsk = quota_key(number, b.code)
        before = old.get(b.code)
        if before is None:
            ops.append(Put(_quota_item(number, _balance(product, b, today)), if_absent=True))
        elif b.quota is not None and before.quota is not None and b.quota != before.quota:
            delta = b.quota - before.quota
            guard: list[Cond] = [("available", ">=", -delta)] if delta < 0 else []
            ops.append(Update(qpk, qsk, add={"quota": delta, "available": delta}, expect=guard))
    ops += ledger.money_ops(
        p,
        channel_id=pol.channel_id,
        product_code=pol.product_code,
        plan_code=new_plan.code,
        policy_number=number,
        event="endorse",
        amount=change,
        commission_pct=contract.commission_pct,
        counters={"premium": ledger.cents(change)},
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
def renew(p: Ports, who: Principal, number: str, req: RenewRequest) -> Policy:
    pol = get_for(p, who, number)
    if pol.status != "active":
        states.POLICY.next_state(pol.status, "renew")
    today = _today(p)
    if pol.end_date - today > timedelta(days=RENEWAL_WINDOW_DAYS):
        raise BusinessRuleViolation(
            f"Policy {number} can be renewed from {(pol.end_date - timedelta(days=RENEWAL_WINDOW_DAYS)).isoformat()}.",
            code="TOO_EARLY_TO_RENEW",
        )
    try:
        contract = catalog.authorize(p, pol.channel_id, pol.product_code, "renew", today)
        product = catalog.on_sale(p, pol.product_code)
    except DomainError as exc:
        if exc.code in (
            "CONTRACT_TERMINATED",
            "PRODUCT_DELISTED",
            "PRODUCT_NOT_ON_SALE",
            "NO_CONTRACT",
            "CONTRACT_NOT_IN_EFFECT",
        ):
            raise BusinessRuleViolation(
                f"Policy {number} cannot be renewed: {exc.message} Offer the customer a new product.",
                code="RENEWAL_NOT_AVAILABLE_OFFER_NEW_PRODUCT",
                details={"reason": exc.code},
            ) from None
        raise
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
def cancel(p: Ports, who: Principal, number: str, req: CancelRequest) -> CancelResponse:
    pol = get_for(p, who, number)
    if not who.is_staff:
        catalog.authorize(p, who.id, pol.product_code, "cancel", _today(p))
    states.POLICY.next_state(pol.status, "cancel")
    product = catalog.get_version(p, pol.product_code, pol.product_version)
    contract = catalog.get_contract(p, pol.channel_id, pol.product_code, pol.contract_version)
    today = _today(p)
    amount = refund.refund_amount(
        product.refund,
        pol.premium,
        pol.start_date,
        pol.end_date,
        max(today, pol.start_date) if today >= pol.start_date else today,
        shipped=req.goods_shipped,
    )
    now = p.now()
    updated = pol.model_copy(
        update={"status": "cancelled", "cancelled_at": now, "refund": amount, "version": pol.version + 1}
    )
    pk, sk = policy_key(number)
    ops: list[WriteOp] = [
        Update(
            pk,
            sk,
            set={
                "state": "cancelled",
                "data": updated.model_dump_json(exclude={"benefits"}),
                "version": pol.version + 1,
            },
            expect=[("version", "=", pol.version), ("state", "=", "active")],
        ),
        Put(
            {
                "pk": pk,
                "sk": f"VER#{pol.version + 1:05d}",
                "kind": "policy_version",
                "data": PolicyVersion(
                    version=pol.version + 1,
                    at=now,
                    action="cancel",
                    plan_code=pol.plan_code,
                    premium=pol.premium,
                    premium_change=-amount,
                    reason=req.reason,
                ).model_dump_json(),
            },
            if_absent=True,
        ),
    ]
    ops += ledger.money_ops(
        p,
        channel_id=pol.channel_id,
        product_code=pol.product_code,
        plan_code=pol.plan_code,
        policy_number=number,
        event="refund",
        amount=-amount,
        commission_pct=contract.commission_pct,
        counters={"refunds": ledger.cents(amount)},
    )
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


def expire_due(p: Ports, on: date) -> dict[str, Any]:
    """Daily: policies whose term ended yesterday or earlier (bounded per-day index query)."""
    expired = 0
    day = on - timedelta(days=1)
    cursor = None
    while True:
        page = p.store.query(f"EXPIRY#{day.isoformat()}", index="gsi3", limit=200, cursor=cursor)
        for item in page.items:
            if item.get("state") != "active":
                continue
            try:
                p.store.update(
                    item["pk"],
                    item["sk"],
                    set={"state": "expired"},
                    expect=[("state", "=", "active"), ("version", "=", item.get("version"))],
                    add={"version": 1},
                )
                expired += 1
            except StaleWrite:
                continue
        cursor = page.cursor
        if not cursor:
            return {"day": day.isoformat(), "expired": expired}
