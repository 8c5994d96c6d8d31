"""Claims: channels apply, update and query; staff open, assess, approve, reject and pay; a
scheduled job assesses and pays return-shipping claims by rule.

Items (single table):
  CLAIM#{n} / CLAIM                 the claim: state, version, owner = channel, ref = policy number,
                                    amount = claimed cents, data = the Claim JSON
      gsi1 POLCLAIMS#{policy} / {submitted}#{n}     claims of a policy
      gsi2 CHCLAIM#{channel}#{channel_claim_id}     the channel's own reference (when given)
      gsi3 AUTOCLAIM / {updated}#{n}                 auto-claimable and awaiting the job; removed
                                                     once decided (paid / rejected / held), re-added
                                                     by an update
  CLAIM#{n} / CHANGE#{ts}#{version} a change record (who, why, before, after) per update
  CLAIM#{n} / HOOK#{version}        webhook outbox: written in the transaction of every status change,
                                    deleted once ``webhooks.notify`` queued it; gsi3 CLAIMHOOK lets the
                                    job resend the ones a crash or an SQS error left behind
  CLAIMREF#{channel}#{ref} / CLAIMREF  uniqueness of the channel's claim reference (+ request hash)
  SEQ#CLAIM / SEQ                   claim-number counter (atomic ADD): CL{year}{seq:09d}

Every state write is conditional on the state and version read (``_commit``), so of two racing
writers exactly one wins. The loser re-reads: an update re-runs while the claim can still be
changed (else 409 CLAIM_CHANGED); the auto job re-evaluates the claim as it now is.

Money: a payout is one transaction: claim approved -> paid, the policy's ``remaining`` sum insured
lowered with ADD guarded by ``remaining >= cents`` (it can never go below zero), and the ledger
entry + ``claim_amount`` counter. A submission counts ``claims`` in the same statistics rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from petcover.domain import states
from petcover.domain.catalog import Benefit, Plan
from petcover.errors import BusinessRuleViolation, Conflict, DomainError, InvalidInput, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.claims import (
    ApproveRequest,
    AssessRequest,
    AutoClaimsRun,
    Claim,
    ClaimChange,
    ClaimCreate,
    ClaimDetail,
    ClaimList,
    ClaimUpdate,
    Decision,
    Evidence,
    OpsClaimCreate,
    PayRequest,
    RejectRequest,
)
from petcover.models.policies import Policy
from petcover.observability import logger
from petcover.ports import Check, Item, Ports, Put, Update, WriteOp
from petcover.services import audit, catalog, ledger, policies, webhooks
from petcover.services.ledger import _stat_keys

SYSTEM_ACTOR = "system:auto-claims"
AUTO_QUEUE = "AUTOCLAIM"
HOOK_QUEUE = "CLAIMHOOK"
HOOK_GRACE_SECONDS = 60  # an outbox entry older than this was not delivered by its writer
HOOK_RETENTION_DAYS = 14
CLAIM_WINDOW_DAYS = 30
# Product kinds whose claims the job decides by rule, and the benefit they claim.
AUTO_BENEFITS = {"return_shipping": "return-freight"}
RULESET = "return_shipping.v1"
ATTEMPTS = 3  # re-reads after a lost race before giving up with 409 CLAIM_CHANGED

Actor = Principal | str
QueueMove = Literal["add", "remove", "keep"]


# ------------------------------------------------------------------ keys and small helpers
def claim_key(number: str) -> tuple[str, str]:
    return f"CLAIM#{number}", "CLAIM"


def ref_key(channel_id: str, ref: str) -> tuple[str, str]:
    return f"CLAIMREF#{channel_id}#{ref}", "CLAIMREF"


def _stamp(dt: datetime) -> str:
    """Fixed-width UTC time, so sort keys order by time."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _actor(who: Actor) -> str:
    return audit.actor_name(who)


def stat_ops(channel_id: str, product_code: str, plan_code: str, on: date, counters: dict[str, int]) -> list[Update]:
    """Ledger-free statistics counters: the same (day, month) rows ledger.money_ops moves."""
    return [Update(pk, sk, add=counters) for pk, sk in _stat_keys(channel_id, product_code, plan_code, on)]


def _next_number(p: Ports) -> str:
    item = p.store.update("SEQ#CLAIM", "SEQ", add={"seq": 1})
    return f"CL{p.now().year}{int(item['seq']):09d}"


def _load(item: Item) -> Claim:
    d = json.loads(item["data"])
    d["status"] = item.get("state", d.get("status"))
    d["version"] = int(item.get("version", d.get("version", 1)))
    return Claim.model_validate(d)


def _item(p: Ports, number: str) -> Item:
    item = p.store.get(*claim_key(number))
    if item is None or item.get("kind") != "claim":
        raise NotFound(f"Claim {number} does not exist.", code="CLAIM_NOT_FOUND")
    return item


def _visible(p: Ports, who: Principal, number: str) -> tuple[Claim, Item]:
    """A channel sees only its own claims: another channel's claim is simply not found."""
    item = _item(p, number)
    claim = _load(item)
    if not who.is_staff and claim.channel_id != who.id:
        raise NotFound(f"Claim {number} does not exist.", code="CLAIM_NOT_FOUND")
    return claim, item


def _policy_of(p: Ports, who: Principal, number: str) -> tuple[Policy, Item]:
    pol, item = policies.load_policy(p, number, balances=False)
    if not who.is_staff and pol.channel_id != who.id:
        raise NotFound(f"Policy {number} does not exist.", code="POLICY_NOT_FOUND")
    return pol, item


def _plan(p: Ports, claim_or_policy: Claim | Policy) -> Plan:
    product = catalog.get_version(p, claim_or_policy.product_code, claim_or_policy.product_version)
    return product.plan(claim_or_policy.plan_code)


def _benefit(plan: Plan, code: str | None, product_kind: str) -> Benefit:
    if code is None:
        code = AUTO_BENEFITS.get(product_kind)
    if code is None:
        claimable = [b for b in plan.benefits if b.kind == "reimbursement"]
        if len(claimable) != 1:
            raise InvalidInput(
                f"Name the benefit claimed: one of {', '.join(b.code for b in claimable) or 'none'}.",
                code="BENEFIT_REQUIRED",
                details=[{"field": "benefit_code", "message": "required for this plan"}],
            )
        return claimable[0]
    try:
        benefit = plan.benefit(code)
    except NotFound:
        raise BusinessRuleViolation(
            f"Benefit {code} is not part of plan {plan.code}.", code="BENEFIT_NOT_IN_PLAN"
        ) from None
    if benefit.kind != "reimbursement":
        raise BusinessRuleViolation(
            f"Benefit {code} is a service: book it instead of claiming it.", code="BENEFIT_NOT_CLAIMABLE"
        )
    return benefit


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _brief(c: Claim) -> dict[str, Any]:
    return _jsonable(
        {
            "status": c.status,
            "version": c.version,
            "amount": c.amount,
            "approved_amount": c.approved_amount,
            "paid_amount": c.paid_amount,
            "decision": c.decision.model_dump(mode="json") if c.decision else None,
        }
    )


def _payload(c: Claim, previous: str) -> dict[str, Any]:
    return _jsonable(
        {
            "claim_number": c.claim_number,
            "policy_number": c.policy_number,
            "channel_claim_id": c.channel_claim_id,
            "status": c.status,
            "previous_status": previous,
            "claim_version": c.version,
            "amount": c.amount,
            "approved_amount": c.approved_amount,
            "paid_amount": c.paid_amount,
            "currency": c.currency,
            "decision": (
                {"outcome": c.decision.outcome, "rule": c.decision.rule, "note": c.decision.note}
                if c.decision
                else None
            ),
            "note": c.note,
            "updated_at": c.updated_at,
        }
    )


# ------------------------------------------------------------------ webhook outbox
def _hook_item(c: Claim, previous: str, now: datetime) -> Item:
    return {
        "pk": claim_key(c.claim_number)[0],
        "sk": f"HOOK#{c.version:05d}",
        "kind": "claim_hook",
        "owner": c.channel_id,
        "ref": c.claim_number,
        "fence": int(now.timestamp()),
        "expires_at": int(now.timestamp()) + HOOK_RETENTION_DAYS * 86400,
        "gsi3pk": HOOK_QUEUE,
        "gsi3sk": f"{_stamp(now)}#{c.claim_number}#{c.version:05d}",
        "data": json.dumps({"event_type": f"claim.{c.status}", "payload": _payload(c, previous)}),
    }


def _send_hook(p: Ports, item: Item) -> bool:
    """Queue the webhook, then drop the outbox entry we hold (fence). False: left for the job."""
    data = json.loads(item["data"])
    try:
        webhooks.notify(
            p,
            channel_id=item["owner"],
            object_type="claim",
            object_id=item["ref"],
            event_type=data["event_type"],
            payload=data["payload"],
        )
    except Exception:
        logger.exception("claim webhook not queued; the auto-claims job resends it", extra={"claim": item["ref"]})
        return False
    try:
        p.store.delete(item["pk"], item["sk"], expect=[("fence", "=", item["fence"])])
    except StaleWrite:
        pass  # taken over by the job after the grace period: it may send once more (a higher version)
    except Exception:
        logger.warning("claim webhook outbox entry not removed", extra={"claim": item["ref"]})
    return True


def resend_hooks(p: Ports, *, limit: int = 100) -> int:
    """Outbox entries older than the grace period: take each over (fence) and queue it."""
    now = p.now()
    cutoff = now - timedelta(seconds=HOOK_GRACE_SECONDS)
    page = p.store.query(HOOK_QUEUE, index="gsi3", sk_lte=_stamp(cutoff) + "~", limit=limit)
    sent = 0
    for item in page.items:
        fence = int(now.timestamp())
        try:
            p.store.update(
                item["pk"],
                item["sk"],
                set={"fence": fence},
                expect=[("fence", "<=", int(cutoff.timestamp()))],
                must_exist=True,
            )
        except StaleWrite:
            continue
        if _send_hook(p, {**item, "fence": fence}):
            sent += 1
    return sent


# ------------------------------------------------------------------ the one conditional write
def _commit(
    p: Ports,
    actor: str,
    before: Claim,
    after: Claim,
    action: str,
    *,
    queue: QueueMove = "keep",
    extra_ops: Sequence[WriteOp] = (),
    announce: bool = False,
    reason: str | None = None,
) -> Claim:
    """Write ``after`` only if the claim is still in ``before``'s state and version (else StaleWrite).

    A status change (or ``announce``) puts a webhook in the outbox in the same transaction; it is
    queued right after the commit. The step is audited.
    """
    n = before.claim_number
    pk, sk = claim_key(n)
    now = p.now()
    set_: dict[str, Any] = {
        "state": after.status,
        "version": after.version,
        "amount": ledger.cents(after.amount),
        "data": after.model_dump_json(),
    }
    if queue == "add":
        set_.update({"gsi3pk": AUTO_QUEUE, "gsi3sk": f"{_stamp(now)}#{n}"})
    elif queue == "remove":
        set_.update({"gsi3pk": None, "gsi3sk": None})
    ops: list[WriteOp] = [
        Update(pk, sk, set=set_, expect=[("state", "=", before.status), ("version", "=", before.version)]),
        *extra_ops,
    ]
    hook = _hook_item(after, before.status, now) if (after.status != before.status or announce) else None
    if hook is not None:
        ops.append(Put(hook, if_absent=True))
    p.store.transact(ops)
    if hook is not None:
        _send_hook(p, hook)
    audit.record(p, actor, "claim", n, action, before=_brief(before), after=_brief(after), reason=reason)
    return after


def _next(c: Claim, now: datetime, **changes: Any) -> Claim:
    return c.model_copy(update={"version": c.version + 1, "updated_at": now, **changes})


def _refusal(p: Ports, before: Claim, cents: int | None = None) -> DomainError:
    """Why a conditional write on the claim (and, with ``cents``, its policy) was refused, in words."""
    item = p.store.get(*claim_key(before.claim_number))
    if item is None or item.get("state") != before.status or int(item.get("version", 0)) != before.version:
        now_state = item.get("state") if item else "gone"
        return Conflict(
            f"Claim {before.claim_number} changed meanwhile (it is now {now_state}); reload and retry.",
            code="CLAIM_CHANGED",
            details={"status": now_state},
        )
    if cents is None:
        return Conflict("The claim changed meanwhile; retry.", code="CLAIM_CHANGED", retry_after=1)
    pol = p.store.get(*policies.policy_key(before.policy_number)) or {}
    if pol.get("state") != "active":
        return BusinessRuleViolation(
            f"Policy {before.policy_number} is {pol.get('state', 'gone')}; nothing can be paid on it.",
            code="POLICY_NOT_ACTIVE",
        )
    remaining = int(pol.get("remaining", 0))
    if remaining < cents:
        return _exceeds(before.policy_number, remaining, cents)
    return Conflict("The claim or its policy changed meanwhile; retry.", code="CLAIM_CHANGED", retry_after=1)


def _exceeds(policy_number: str, remaining_cents: int, cents: int) -> BusinessRuleViolation:
    return BusinessRuleViolation(
        f"{Decimal(cents) / 100} exceeds the remaining sum insured of policy {policy_number} "
        f"({Decimal(remaining_cents) / 100}).",
        code="SUM_INSURED_EXCEEDED",
        details={"remaining": str(Decimal(remaining_cents) / 100), "amount": str(Decimal(cents) / 100)},
    )


# ------------------------------------------------------------------ apply
def _request_hash(policy_number: str, req: ClaimCreate) -> str:
    body = req.model_dump(mode="json", include=set(ClaimCreate.model_fields))
    return hashlib.sha256(json.dumps([policy_number, body], sort_keys=True).encode()).hexdigest()


def _by_ref(p: Ports, channel_id: str, ref: str, policy_number: str, req: ClaimCreate) -> Claim | None:
    """A repeat of the same channel reference: the same claim, or 409 when the request differs."""
    item = p.store.get(*ref_key(channel_id, ref))
    if item is None:
        return None
    number = str(item["ref"])
    if json.loads(item.get("data") or "{}").get("request") != _request_hash(policy_number, req):
        raise Conflict(
            f"Claim reference {ref} was already used for claim {number} with other details.",
            code="CLAIM_REF_REUSED",
            details={"claim_number": number},
        )
    return _load(_item(p, number))


def _open(p: Ports, who: Principal, pol: Policy, req: ClaimCreate, source: Literal["channel", "ops"]) -> Claim:
    today = p.now().date()
    if req.incident_date > today:
        raise InvalidInput(
            "The incident date cannot be in the future.",
            code="VALIDATION_FAILED",
            details=[{"field": "incident_date", "message": "after today"}],
        )
    if req.channel_claim_id:
        existing = _by_ref(p, pol.channel_id, req.channel_claim_id, pol.number, req)
        if existing is not None:
            return existing
    product = catalog.get_version(p, pol.product_code, pol.product_version)
    benefit = _benefit(product.plan(pol.plan_code), req.benefit_code, product.kind)
    auto = product.kind in AUTO_BENEFITS and benefit.code == AUTO_BENEFITS[product.kind]
    number = _next_number(p)
    now = p.now()
    actor = _actor(who)
    claim = Claim(
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
        source=source,
        opened_by=actor,
        incident_date=req.incident_date,
        incident_type=req.incident_type,
        description=req.description,
        amount=req.amount,
        currency=pol.currency,
        evidence=req.evidence,
        submitted_at=now,
        updated_at=now,
    )
    pk, sk = claim_key(number)
    item: Item = {
        "pk": pk,
        "sk": sk,
        "kind": "claim",
        "state": claim.status,
        "version": claim.version,
        "owner": claim.channel_id,
        "ref": pol.number,
        "amount": ledger.cents(claim.amount),
        "gsi1pk": f"POLCLAIMS#{pol.number}",
        "gsi1sk": f"{_stamp(now)}#{number}",
        "data": claim.model_dump_json(),
    }
    ops: list[WriteOp] = []
    if req.channel_claim_id:
        item.update({"gsi2pk": f"CHCLAIM#{pol.channel_id}#{req.channel_claim_id}", "gsi2sk": "CLAIM"})
        rpk, rsk = ref_key(pol.channel_id, req.channel_claim_id)
        ops.append(
            Put(
                {
                    "pk": rpk,
                    "sk": rsk,
                    "kind": "claimref",
                    "ref": number,
                    "data": json.dumps({"request": _request_hash(pol.number, req)}),
                },
                if_absent=True,
            )
        )
    if auto:
        item.update({"gsi3pk": AUTO_QUEUE, "gsi3sk": f"{_stamp(now)}#{number}"})
    hook = _hook_item(claim, "none", now)
    ops = [
        Put(item, if_absent=True),
        *ops,
        *stat_ops(pol.channel_id, pol.product_code, pol.plan_code, now.date(), {"claims": 1}),
        Put(hook, if_absent=True),
    ]
    try:
        p.store.transact(ops)
    except StaleWrite:
        if req.channel_claim_id:  # lost a race with the same reference
            existing = _by_ref(p, pol.channel_id, req.channel_claim_id, pol.number, req)
            if existing is not None:
                return existing
        raise
    _send_hook(p, hook)
    audit.record(p, who, "claim", number, "submit" if source == "channel" else "open", after=_brief(claim))
    return claim


def submit(p: Ports, who: Principal, policy_number: str, req: ClaimCreate) -> Claim:
    """A channel applies for a claim on its own policy; answers at once with the claim number."""
    pol, _ = _policy_of(p, who, policy_number)
    if not who.is_staff:
        catalog.authorize(p, who.id, pol.product_code, "claim", p.now().date())
    return _open(p, who, pol, req, "channel")


def open_for_customer(p: Ports, who: Principal, policy_number: str, req: OpsClaimCreate) -> Claim:
    """Service staff open a claim for a customer who phoned, after the identity check."""
    if not req.identity_verified:
        raise BusinessRuleViolation(
            "The caller's identity must be verified before a claim is opened for them.",
            code="IDENTITY_NOT_VERIFIED",
        )
    pol, _ = _policy_of(p, who, policy_number)
    return _open(p, who, pol, req, "ops")


# ------------------------------------------------------------------ read
def get(p: Ports, who: Principal, number: str) -> Claim:
    return _visible(p, who, number)[0]


def changes(p: Ports, number: str) -> list[ClaimChange]:
    page = p.store.query(claim_key(number)[0], sk_prefix="CHANGE#", limit=200)
    return [ClaimChange.model_validate(json.loads(i["data"])) for i in page.items]


def detail(p: Ports, who: Principal, number: str) -> ClaimDetail:
    claim, _ = _visible(p, who, number)
    return ClaimDetail.model_validate({**claim.model_dump(), "history": changes(p, number)})


def list_for_policy(
    p: Ports, who: Principal, policy_number: str, *, limit: int = 50, cursor: str | None = None
) -> ClaimList:
    _policy_of(p, who, policy_number)
    page = p.store.query(f"POLCLAIMS#{policy_number}", index="gsi1", limit=limit, cursor=cursor, descending=True)
    return ClaimList(items=[_load(i) for i in page.items], cursor=page.cursor)


# ------------------------------------------------------------------ update (channel)
_EVIDENCE_FIELDS = ("tracking_number", "documents")


def _current(c: Claim, field: str) -> Any:
    return getattr(c.evidence, field) if field in _EVIDENCE_FIELDS else getattr(c, field)


def update(p: Ports, who: Principal, number: str, req: ClaimUpdate) -> Claim:
    """Change an unfinished claim: a change record is kept and the claim is assessed again.

    Conditional on the version read; a lost race re-reads and re-applies while the claim can
    still be changed, else 409 CLAIM_CHANGED (an automatic decision got there first).
    """
    actor = _actor(who)
    given = sorted(req.model_fields_set - {"reason"})
    if req.incident_date is not None and req.incident_date > p.now().date():
        raise InvalidInput(
            "The incident date cannot be in the future.",
            code="VALIDATION_FAILED",
            details=[{"field": "incident_date", "message": "after today"}],
        )
    for attempt in range(ATTEMPTS):
        claim, _ = _visible(p, who, number)
        if not states.CLAIM.can(claim.status, "update"):
            if attempt == 0:
                states.CLAIM.next_state(claim.status, "update")  # raises, in words
            raise Conflict(
                f"Claim {number} was {claim.status} meanwhile; it can no longer be changed.",
                code="CLAIM_CHANGED",
                details={"status": claim.status},
            )
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for f in given:
            old, new = _current(claim, f), getattr(req, f)
            if new is not None and new != old:
                before[f], after[f] = _jsonable(old), _jsonable(new)
        if not after:
            if attempt == 0:
                raise InvalidInput("Nothing would change: the claim already says so.", code="NOTHING_TO_CHANGE")
            return claim
        now = p.now()
        evidence = Evidence.model_validate(
            {**claim.evidence.model_dump(), **{f: getattr(req, f) for f in after if f in _EVIDENCE_FIELDS}}
        )
        new_claim = _next(
            claim,
            now,
            **{f: getattr(req, f) for f in after if f not in _EVIDENCE_FIELDS},
            evidence=evidence,
            status=states.CLAIM.next_state(claim.status, "update"),
            decision=None,
            note=None,
            changes=claim.changes + 1,
        )
        change = ClaimChange(version=new_claim.version, at=now, by=actor, reason=req.reason, before=before, after=after)
        record = Put(
            {
                "pk": claim_key(number)[0],
                "sk": f"CHANGE#{_stamp(now)}#{new_claim.version:05d}",
                "kind": "claim_change",
                "data": change.model_dump_json(),
            },
            if_absent=True,
        )
        try:
            return _commit(
                p,
                actor,
                claim,
                new_claim,
                "update",
                queue="add" if claim.auto else "keep",
                extra_ops=[record],
                reason=req.reason,
            )
        except StaleWrite:
            continue
    raise Conflict(f"Claim {number} keeps changing; retry shortly.", code="CLAIM_CHANGED", retry_after=1)


# ------------------------------------------------------------------ ops: assess, approve, reject, pay
def assess(p: Ports, who: Principal, number: str, req: AssessRequest) -> Claim:
    claim, _ = _visible(p, who, number)
    new = _next(claim, p.now(), status=states.CLAIM.next_state(claim.status, "assess"), note=req.note)
    try:
        return _commit(p, _actor(who), claim, new, "assess", reason=req.note)
    except StaleWrite:
        raise _refusal(p, claim) from None


def approve(p: Ports, who: Principal, number: str, req: ApproveRequest) -> Claim:
    """An assessor approves an amount: within the claim, the benefit's limit and the remaining sum."""
    claim, _ = _visible(p, who, number)
    status = states.CLAIM.next_state(claim.status, "approve")
    if req.amount > claim.amount:
        raise BusinessRuleViolation(
            f"{req.amount} is more than the {claim.amount} claimed.", code="AMOUNT_ABOVE_CLAIMED"
        )
    benefit = _benefit(_plan(p, claim), claim.benefit_code, claim.product_kind)
    if benefit.amount_limit is not None and req.amount > benefit.amount_limit:
        raise BusinessRuleViolation(
            f"{req.amount} is above the limit of benefit {benefit.code} ({benefit.amount_limit}).",
            code="AMOUNT_ABOVE_LIMIT",
            details={"limit": str(benefit.amount_limit)},
        )
    cents = ledger.cents(req.amount)
    pol, pitem = policies.load_policy(p, claim.policy_number, balances=False)
    if pol.status != "active":
        raise BusinessRuleViolation(
            f"Policy {pol.number} is {pol.status}; nothing can be paid on it.", code="POLICY_NOT_ACTIVE"
        )
    remaining = int(pitem.get("remaining", 0))
    if cents > remaining:
        raise _exceeds(pol.number, remaining, cents)
    now = p.now()
    actor = _actor(who)
    new = _next(
        claim,
        now,
        status=status,
        approved_amount=req.amount,
        decision=Decision(outcome="approve", rule="assessor", by=actor, at=now, note=req.note),
        note=req.note,
    )
    try:
        return _commit(p, actor, claim, new, "approve", queue="remove", extra_ops=[_can_pay(claim, cents)])
    except StaleWrite:
        raise _refusal(p, claim, cents) from None


def _can_pay(claim: Claim, cents: int) -> Check:
    pk, sk = policies.policy_key(claim.policy_number)
    return Check(pk, sk, expect=[("remaining", ">=", cents), ("state", "=", "active")])


def reject(p: Ports, who: Principal, number: str, req: RejectRequest) -> Claim:
    claim, _ = _visible(p, who, number)
    now = p.now()
    actor = _actor(who)
    new = _next(
        claim,
        now,
        status=states.CLAIM.next_state(claim.status, "reject"),
        decision=Decision(outcome="reject", rule="assessor", by=actor, at=now, note=req.reason),
        note=req.reason,
    )
    try:
        return _commit(p, actor, claim, new, "reject", queue="remove", reason=req.reason)
    except StaleWrite:
        raise _refusal(p, claim) from None


def pay(p: Ports, who: Principal, number: str, req: PayRequest) -> Claim:
    """Finance marks an approved claim paid (the payout transaction)."""
    claim, _ = _visible(p, who, number)
    return _pay(p, _actor(who), claim, reference=req.reference)


def _pay(p: Ports, actor: str, claim: Claim, *, reference: str | None = None) -> Claim:
    status = states.CLAIM.next_state(claim.status, "pay")
    amount = claim.approved_amount if claim.approved_amount is not None else claim.amount
    cents = ledger.cents(amount)
    pol, pitem = policies.load_policy(p, claim.policy_number, balances=False)
    if pol.status != "active":
        raise BusinessRuleViolation(
            f"Policy {pol.number} is {pol.status}; nothing can be paid on it.", code="POLICY_NOT_ACTIVE"
        )
    remaining = int(pitem.get("remaining", 0))
    if cents > remaining:
        raise _exceeds(pol.number, remaining, cents)
    now = p.now()
    new = _next(claim, now, status=status, paid_amount=amount, paid_at=now, payment_reference=reference)
    ppk, psk = policies.policy_key(claim.policy_number)
    extra: list[WriteOp] = [
        Update(ppk, psk, add={"remaining": -cents}, expect=[("remaining", ">=", cents), ("state", "=", "active")]),
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
        ),
    ]
    try:
        return _commit(p, actor, claim, new, "pay", queue="remove", extra_ops=extra, reason=reference)
    except StaleWrite:
        raise _refusal(p, claim, cents) from None


# ------------------------------------------------------------------ automatic claims (return shipping)
@dataclass(frozen=True)
class _Rule:
    name: str
    ok: bool
    final: bool  # a failure no update can cure
    message: str


def evaluate_auto(
    claim: Claim,
    *,
    policy_status: str,
    start: date,
    end: date,
    limit: Decimal | None,
    remaining: Decimal,
    by: str,
    at: datetime,
) -> Decision:
    """The return-shipping rules, pure. A final failure rejects; any other failure holds the claim
    in assessing with a note until it is updated; all passed approves."""
    days = (claim.submitted_at.date() - claim.incident_date).days
    tracking = claim.evidence.tracking_number
    rules = [
        _Rule("policy_active", policy_status == "active", True, f"The policy is {policy_status}."),
        _Rule(
            "incident_in_term",
            start <= claim.incident_date <= end,
            True,
            f"The incident on {claim.incident_date} is outside the policy term {start} to {end}.",
        ),
        _Rule(
            "claimed_within_30_days",
            0 <= days <= CLAIM_WINDOW_DAYS,
            True,
            f"The claim was made {days} days after the incident; the limit is {CLAIM_WINDOW_DAYS}.",
        ),
        _Rule(
            "amount_within_benefit_limit",
            limit is None or claim.amount <= limit,
            False,
            f"The amount {claim.amount} is above the benefit limit {limit}; correct the amount.",
        ),
        _Rule(
            "amount_within_remaining_sum",
            claim.amount <= remaining,
            remaining <= 0,
            f"The amount {claim.amount} is above the remaining sum insured {remaining}.",
        ),
        _Rule(
            "tracking_number_present",
            bool(tracking and tracking.strip()),
            False,
            "A return tracking number is needed; update the claim with it.",
        ),
    ]
    passed = [r.name for r in rules if r.ok]
    failed = [r for r in rules if not r.ok]
    final = [r for r in failed if r.final]
    names = [r.name for r in failed]
    if final:
        return Decision(
            outcome="reject",
            rule=final[0].name,
            ruleset=RULESET,
            passed=passed,
            failed=names,
            note=final[0].message,
            by=by,
            at=at,
        )
    if failed:
        return Decision(
            outcome="hold",
            rule=failed[0].name,
            ruleset=RULESET,
            passed=passed,
            failed=names,
            note=" ".join(r.message for r in failed),
            by=by,
            at=at,
        )
    return Decision(outcome="approve", rule="all_rules_passed", ruleset=RULESET, passed=passed, failed=[], by=by, at=at)


def _dequeue(p: Ports, claim: Claim, note: str | None = None) -> None:
    new = _next(claim, p.now(), note=note or claim.note)
    with contextlib.suppress(StaleWrite):  # changed meanwhile: the next run looks again
        _commit(p, SYSTEM_ACTOR, claim, new, "dequeue", queue="remove", reason=note)


def _auto_pay(p: Ports, claim: Claim) -> str:
    try:
        _pay(p, SYSTEM_ACTOR, claim)
        return "paid"
    except BusinessRuleViolation as exc:
        # Approved, but the sum insured was used up (or the policy ended) since: finance decides.
        _dequeue(p, claim, note=f"Automatic payout refused: {exc.message}")
        return "unpayable"
    except Conflict:
        return "conflicts"  # still queued: the next run tries again


def auto_decide(p: Ports, number: str) -> str:
    """Decide one queued claim by rule: approve + pay, reject, or hold. Safe to repeat: a claim
    that is no longer queued (or changed meanwhile) is left alone or re-read."""
    for _ in range(ATTEMPTS):
        item = p.store.get(*claim_key(number))
        if item is None or item.get("gsi3pk") != AUTO_QUEUE:
            return "skipped"
        claim = _load(item)
        if claim.status == "approved":
            return _auto_pay(p, claim)
        if claim.status not in ("submitted", "assessing"):
            _dequeue(p, claim)
            return "skipped"
        pol, pitem = policies.load_policy(p, claim.policy_number, balances=False)
        benefit = _benefit(_plan(p, claim), claim.benefit_code, claim.product_kind)
        now = p.now()
        decision = evaluate_auto(
            claim,
            policy_status=pol.status,
            start=pol.start_date,
            end=pol.end_date,
            limit=benefit.amount_limit,
            remaining=Decimal(int(pitem.get("remaining", 0))) / 100,
            by=SYSTEM_ACTOR,
            at=now,
        )
        try:
            if decision.outcome == "hold":
                fresh = claim.status == "submitted"
                status = states.CLAIM.next_state(claim.status, "assess") if fresh else claim.status
                held = _next(claim, now, status=status, decision=decision, note=decision.note)
                action = "assess" if fresh else "hold"
                _commit(p, SYSTEM_ACTOR, claim, held, action, queue="remove", announce=True, reason=decision.note)
                return "held"
            cur = claim
            if cur.status == "submitted":
                assessing = _next(cur, now, status=states.CLAIM.next_state(cur.status, "assess"))
                cur = _commit(p, SYSTEM_ACTOR, cur, assessing, "assess")
            if decision.outcome == "reject":
                rejected = _next(
                    cur,
                    now,
                    status=states.CLAIM.next_state(cur.status, "reject"),
                    decision=decision,
                    note=decision.note,
                )
                _commit(p, SYSTEM_ACTOR, cur, rejected, "reject", queue="remove", reason=decision.note)
                return "rejected"
            approved = _next(
                cur,
                now,
                status=states.CLAIM.next_state(cur.status, "approve"),
                approved_amount=cur.amount,
                decision=decision,
                note=None,
            )
            cur = _commit(
                p, SYSTEM_ACTOR, cur, approved, "approve", extra_ops=[_can_pay(cur, ledger.cents(cur.amount))]
            )
            return _auto_pay(p, cur)
        except StaleWrite:
            continue  # updated or decided meanwhile: read it again and re-run
    return "conflicts"


def run_auto_claims(p: Ports, *, limit: int = 200, page_size: int = 50) -> AutoClaimsRun:
    """The scheduled job: queued claims oldest first, a bounded keyset-paginated Query on gsi3
    (never a scan), then webhooks a crash left in the outbox."""
    out = AutoClaimsRun()
    upper = _stamp(p.now()) + "~"  # claims updated after the run started wait for the next run
    last: str | None = None
    while True:
        page = p.store.query(AUTO_QUEUE, index="gsi3", sk_gte=last, sk_lte=upper, limit=page_size + 1)
        items = [i for i in page.items if i.get("gsi3sk") != last]
        if not items:
            break
        for i in items:
            if out.examined >= limit:
                out.more = True
                break
            out.examined += 1
            last = str(i["gsi3sk"])
            number = str(i["pk"]).split("#", 1)[1]
            try:
                outcome = auto_decide(p, number)
            except Exception:
                logger.exception("automatic claim decision failed", extra={"claim": number})
                outcome = "errors"
            setattr(out, outcome, getattr(out, outcome) + 1)
        if out.more or not page.cursor:
            break
    out.webhooks_resent = resend_hooks(p)
    return out
