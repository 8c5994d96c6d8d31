"""Underwriting through an insurer, when its answer may not come: never guess.

1. The policy is written first as ``pending_insurer`` (with its order-id claim, so the order
   cannot get a second policy), with a marker the settle schedule reads (``INSPENDING``). No
   money moves yet: the premium is posted when the policy becomes active.
2. The insurer is called with the policy number as the idempotency key (``adapter``).
3. Its answer decides: ``issued`` activates the policy (and posts the premium) in one
   conditional transaction; ``rejected`` means it definitely did not issue, so the order is
   passed on to the next insurer of the routing decision (in-house last when the rules name it),
   or the policy fails when none is left; ``unknown`` (a timeout) leaves the policy pending and the
   channel gets 202 with ``Retry-After``.
4. ``settle`` (every minute) queries the insurer of each pending policy with the same key:
   ``issued`` activates, ``not_found``/``rejected`` passes the order on (the insurer contract: a
   query answered ``not_found`` closes the key, so a late underwrite with it is refused), and
   ``unknown`` asks again at the next run. Each final outcome sends the channel a webhook
   (``policy.issued`` / ``policy.failed``) through the outbox, in the same transaction.

Every move is conditional on the policy being ``pending_insurer`` at the same ``attempt``, so
the API call and the schedule (or two schedule runs) can never both pass an order on, nor both
activate it: an order ends with exactly one insurer's policy, or (when every insurer refused) none.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from petcover.domain import states
from petcover.domain.insurer_routing import INHOUSE, RoutingDecision
from petcover.errors import Conflict, StaleWrite
from petcover.models.catalog import Contract
from petcover.models.insurers import InsurerAssignment, InsurerAttempt, SettleReport
from petcover.models.policies import Policy
from petcover.observability import count, logger
from petcover.ports import Cond, Delete, Item, Ports, Put, Update, WriteOp
from petcover.repositories import insurers as repo
from petcover.repositories import policies as policy_repo
from petcover.services import catalog, outbox
from petcover.services.insurers import adapter, routing
from petcover.services.webhooks import events as webhook_events

RETRY_AFTER_SECONDS = 5  # what a channel is told to wait before it asks again
SETTLE_MARGIN = timedelta(seconds=30)  # the schedule leaves a fresh call this long after its budget
RECHECK = timedelta(seconds=30)
KEEP_ATTEMPTS = 20  # the policy document keeps the last calls only
STUCK_AFTER = timedelta(minutes=30)  # an insurer that has not answered a query for this long: alert


@dataclass(frozen=True)
class IssueWrites:
    """The policy aggregate's own writes (``services.policies``), so both paths issue alike."""

    policy: Callable[[Policy], list[WriteOp]]
    premium: Callable[[Ports, Policy, Contract], list[WriteOp]]


def assignment(decision: RoutingDecision) -> InsurerAssignment:
    return InsurerAssignment(
        insurer_id=decision.insurer_id,
        reason=decision.reason,
        explanation=decision.explanation,
        fallbacks=decision.fallbacks,
        rules_version=decision.rules_version,
    )


def _budget(p: Ports, insurer_id: str) -> timedelta:
    if insurer_id == INHOUSE:
        return timedelta(0)
    ep = adapter.load_endpoint(p, insurer_id)
    return timedelta(milliseconds=ep.timeout_ms * (ep.retries + 1))


def _marker(p: Ports, pol: Policy, insurer_id: str, attempt: int, since: float) -> Item:
    due = p.now() + _budget(p, insurer_id) + SETTLE_MARGIN
    return repo.pending_item(
        pol.number, channel_id=pol.channel_id, insurer_id=insurer_id, attempt=attempt, due=due.timestamp(), since=since
    )


# ------------------------------------------------------------------ the API path
def underwrite(
    p: Ports, prepared: Policy, contract: Contract, decision: RoutingDecision, writes: IssueWrites
) -> Policy:
    """``prepared`` (priced and numbered, not written) issued through the chosen insurer."""
    pol = prepared.model_copy(update={"status": "pending_insurer", "insurer": assignment(decision)})
    ops = writes.policy(pol)
    first = ops[0]
    assert isinstance(first, Put) and first.item["sk"] == policy_repo.POLICY_SK
    ops[0] = Put(repo.with_insurer(first.item, decision.insurer_id, 0), if_absent=True)
    ops.append(Put(_marker(p, pol, decision.insurer_id, 0, p.now().timestamp()), if_absent=True))
    try:
        p.store.transact(ops)
    except StaleWrite:
        existing = policy_repo.by_order(p.store, pol.channel_id, pol.channel_order_id)
        if existing is not None:
            raise Conflict(
                f"Order {pol.channel_order_id} already has policy {existing.number}.",
                code="DUPLICATE_ORDER",
                details={"policy_number": existing.number},
            ) from None
        raise
    return _ask(p, pol, 0, contract, writes, notify=False)


def _payload(pol: Policy) -> dict[str, Any]:
    return {
        "policy_number": pol.number,
        "product_code": pol.product_code,
        "plan_code": pol.plan_code,
        "insured": pol.insured.model_dump(mode="json"),
        "holder": pol.holder.model_dump(mode="json"),
        "start_date": pol.start_date.isoformat(),
        "end_date": pol.end_date.isoformat(),
        "premium": str(pol.premium),
        "sum_insured": str(pol.sum_insured),
        "currency": pol.currency,
    }


def _attempt(p: Ports, insurer_id: str, call: str, answer: adapter.Answer) -> InsurerAttempt:
    return InsurerAttempt(
        insurer_id=insurer_id,
        call=call,  # type: ignore[arg-type]
        at=p.now(),
        outcome=answer.outcome,
        detail=answer.detail,
        latency_ms=answer.latency_ms,
    )


def _ask(p: Ports, pol: Policy, attempt: int, contract: Contract, writes: IssueWrites, *, notify: bool) -> Policy:
    """Underwrite with the policy's current insurer and act on the answer."""
    assert pol.insurer is not None
    insurer_id = pol.insurer.insurer_id
    if insurer_id == INHOUSE:
        done = adapter.Answer("issued", "underwritten in-house", pol.number)
        return _act(p, pol, attempt, _attempt(p, INHOUSE, "underwrite", done), done, contract, writes, notify=notify)
    ep = adapter.load_endpoint(p, insurer_id)
    answer = adapter.call(p, ep, "underwrite", _payload(pol), pol.number)
    routing.record_call(p, insurer_id, reached=answer.reached)
    count(f"InsurerUnderwrite_{answer.outcome}")
    return _act(p, pol, attempt, _attempt(p, insurer_id, "underwrite", answer), answer, contract, writes, notify=notify)


def _act(
    p: Ports,
    pol: Policy,
    attempt: int,
    record: InsurerAttempt,
    answer: adapter.Answer,
    contract: Contract,
    writes: IssueWrites,
    *,
    notify: bool,
) -> Policy:
    assert pol.insurer is not None
    noted = pol.insurer.model_copy(update={"attempts": [*pol.insurer.attempts, record][-KEEP_ATTEMPTS:]})
    pol = pol.model_copy(update={"insurer": noted})
    if answer.outcome == "issued":
        return _activate(p, pol, attempt, answer.insurer_policy_number, contract, writes, notify=notify)
    if answer.outcome in ("rejected", "not_found"):
        return _pass_on(p, pol, attempt, contract, writes, notify=notify)
    _still_pending(p, pol, attempt)
    return pol


# ------------------------------------------------------------------ moves of a pending policy
def _guard(attempt: int) -> list[Cond]:
    return [("state", "=", "pending_insurer"), ("attempt", "=", attempt)]


def _announce(p: Ports, pol: Policy, event_type: str) -> tuple[list[WriteOp], str | None]:
    assert pol.insurer is not None
    ops, oid = webhook_events.announcement(
        p,
        channel_id=pol.channel_id,
        object_type="policy",
        object_id=pol.number,
        event_type=event_type,
        payload={
            "policy_number": pol.number,
            "channel_order_id": pol.channel_order_id,
            "status": pol.status,
            "insurer_id": pol.insurer.insurer_id,
            "insurer_policy_number": pol.insurer.insurer_policy_number,
        },
    )
    return ops, oid


def _commit_move(p: Ports, pol: Policy, ops: list[WriteOp], notify: str | None) -> Policy:
    """One conditional transaction; if the policy moved meanwhile, what it is now."""
    oid = None
    if notify:
        announce, oid = _announce(p, pol, notify)
        ops = ops + announce
    try:
        p.store.transact(ops)
    except StaleWrite:
        item = p.store.get(*policy_repo.policy_key(pol.number))
        assert item is not None
        return policy_repo.policy_from_item(item)
    if oid:
        outbox.release(p, oid)
    return pol


def _activate(
    p: Ports,
    pol: Policy,
    attempt: int,
    insurer_number: str | None,
    contract: Contract,
    writes: IssueWrites,
    *,
    notify: bool,
) -> Policy:
    assert pol.insurer is not None
    states.POLICY_ISSUE.next_state(pol.status, "insurer_issued")
    settled = pol.insurer.model_copy(update={"insurer_policy_number": insurer_number, "settled_at": p.now()})
    pol = pol.model_copy(update={"status": "active", "insurer": settled})
    pk, sk = policy_repo.policy_key(pol.number)
    ops: list[WriteOp] = [
        Update(pk, sk, set={"state": "active", "data": policy_repo.policy_data(pol)}, expect=_guard(attempt)),
        Delete(*repo.pending_key(pol.number)),
        *writes.premium(p, pol, contract),
    ]
    count("InsurerPolicyIssued")
    return _commit_move(p, pol, ops, "policy.issued" if notify else None)


def _pass_on(p: Ports, pol: Policy, attempt: int, contract: Contract, writes: IssueWrites, *, notify: bool) -> Policy:
    """The current insurer definitely did not issue: the next one, or the policy fails."""
    current = pol.insurer
    assert current is not None
    pk, sk = policy_repo.policy_key(pol.number)
    if not current.fallbacks:
        states.POLICY_ISSUE.next_state(pol.status, "insurer_failed")
        settled = current.model_copy(update={"settled_at": p.now()})
        pol = pol.model_copy(update={"status": "failed", "insurer": settled})
        ops: list[WriteOp] = [
            Update(pk, sk, set={"state": "failed", "data": policy_repo.policy_data(pol)}, expect=_guard(attempt)),
            Delete(*repo.pending_key(pol.number)),
        ]
        count("InsurerPolicyFailed")
        return _commit_move(p, pol, ops, "policy.failed" if notify else None)
    states.POLICY_ISSUE.next_state(pol.status, "insurer_failover")
    nxt, *rest = current.fallbacks
    moved = current.model_copy(
        update={
            "insurer_id": nxt,
            "reason": "failover",
            "fallbacks": rest,
            "explanation": [
                *current.explanation,
                f"Insurer {current.insurer_id} did not issue: passed on to {nxt}.",
            ],
        }
    )
    pol = pol.model_copy(update={"insurer": moved})
    since = p.now().timestamp()
    ops = [
        Update(
            pk,
            sk,
            set={"data": policy_repo.policy_data(pol), "insurer": nxt, "attempt": attempt + 1},
            expect=_guard(attempt),
        ),
        Put(_marker(p, pol, nxt, attempt + 1, since)),
    ]
    after = _commit_move(p, pol, ops, None)
    if after is not pol:
        return after  # someone else moved it first: theirs is the move
    count("InsurerFailover")
    return _ask(p, pol, attempt + 1, contract, writes, notify=notify)


def _still_pending(p: Ports, pol: Policy, attempt: int) -> None:
    """Keep what was learnt (the attempt) and when the schedule should ask again."""
    pk, sk = policy_repo.policy_key(pol.number)
    due = (p.now() + RECHECK).timestamp()
    # Moved meanwhile (StaleWrite): the mover's record stands.
    with contextlib.suppress(StaleWrite):
        p.store.transact(
            [
                Update(pk, sk, set={"data": policy_repo.policy_data(pol)}, expect=_guard(attempt)),
                Update(*repo.pending_key(pol.number), set={"due": int(due)}, expect=[("attempt", "=", attempt)]),
            ]
        )


# ------------------------------------------------------------------ the schedule
def _query(p: Ports, pol: Policy, attempt: int, since: float, contract: Contract, writes: IssueWrites) -> Policy:
    assert pol.insurer is not None
    insurer_id = pol.insurer.insurer_id
    if insurer_id == INHOUSE:  # a crash between the failover and the in-house issue
        return _ask(p, pol, attempt, contract, writes, notify=True)
    ep = adapter.load_endpoint(p, insurer_id)
    answer = adapter.call(p, ep, "query", {"policy_number": pol.number}, pol.number)
    routing.record_call(p, insurer_id, reached=answer.reached)
    if answer.outcome == "unknown" and p.now().timestamp() - since > STUCK_AFTER.total_seconds():
        logger.error("insurer does not answer", extra={"policy": pol.number, "insurer": insurer_id})
        count("InsurerStuck")
    return _act(p, pol, attempt, _attempt(p, insurer_id, "query", answer), answer, contract, writes, notify=True)


def settle_one(p: Ports, marker: Item, writes: IssueWrites) -> str:
    """One pending policy: 'issued', 'failed', 'pending' (still), or 'gone' (already final)."""
    item = p.store.get(*policy_repo.policy_key(str(marker["sk"])))
    if item is None or item.get("state") != "pending_insurer":
        with contextlib.suppress(StaleWrite):
            p.store.delete(*repo.pending_key(str(marker["sk"])), expect=[("attempt", "=", marker.get("attempt"))])
        return "gone"
    pol = policy_repo.policy_from_item(item)
    attempt = int(item.get("attempt") or 0)
    contract = catalog.get_contract(p, pol.channel_id, pol.product_code, pol.contract_version)
    since = float(repo.pending_since(marker) or p.now().timestamp())
    after = _query(p, pol, attempt, since, contract, writes)
    return {"active": "issued", "failed": "failed"}.get(after.status, "pending")


def settle(p: Ports, writes: IssueWrites, *, limit: int = 500) -> SettleReport:
    """Every pending policy whose time has come, oldest first (the marker partition, one Query)."""
    now = p.now().timestamp()
    outcomes: dict[str, int] = {"issued": 0, "failed": 0, "pending": 0, "gone": 0}
    checked = 0
    cursor: str | None = None
    while checked < limit:
        page = repo.pending(p.store, limit=min(200, limit - checked), cursor=cursor)
        for marker in page.items:
            if float(marker.get("due") or 0) > now:
                continue
            checked += 1
            try:
                outcomes[settle_one(p, marker, writes)] += 1
            except Exception:  # one insurer's failure must not stop the others
                logger.exception("settling a pending policy failed", extra={"policy": marker.get("sk")})
                outcomes["pending"] += 1
        cursor = page.cursor
        if cursor is None:
            break
    report = SettleReport(
        checked=checked,
        issued=outcomes["issued"],
        failed=outcomes["failed"],
        still_pending=outcomes["pending"],
        already_final=outcomes["gone"],
    )
    logger.info("insurer settle run", extra=json.loads(report.model_dump_json()))
    return report
