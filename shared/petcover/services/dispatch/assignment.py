"""The DispatchQueue consumer's work: claim an appointment, decide, count and assign it.

One message per appointment (sent by fulfilment). The decision is the pure ``domain.dispatch.decide``;
this module reads what it needs, enforces capacity with a conditional ADD, records why, and hands the
result to fulfilment (``handoff``): a new order's assignment rides on the decision's own transaction,
anything else goes to ``fulfilment.assignment.assign`` after it.

Idempotent by appointment: the record is claimed with a put-if-absent before anything moves. A
redelivered message whose record is decided re-calls ``assign`` with the stored decision and moves
no counter. A claim left ``pending`` by a consumer that died is taken over once it is older than
``CLAIM_LEASE`` (longer than the function timeout); the only double count possible is a consumer
dying between its counter ADD and the write that settles the record.

A provider's decline starts a new round (the message's ``round``): the record is claimed again, the
provider's slot is given back, the providers that declined are left out of the decision, and a
message of an earlier round is stale and ignored.

The chosen provider's configuration comes from the container's list of active providers (at most
``providers.PROVIDER_CACHE_SECONDS`` old); the transaction that records the decision and takes the
slot also checks that the provider's account and configuration are still active, at the version
decided on. A suspension or an approved change since the list was read refuses that transaction;
the provider is then read afresh (consistently) and the order decided again, so no order reaches a
provider after its suspension returned. A provider the rule names but the list lacks (activated
since it was cached) is read consistently before deciding.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from petcover.domain.dispatch import (
    Decision,
    OrderFacts,
    RegionRule,
    RuleSet,
    counter_scope,
    decide,
    region_chain,
    resolve_rule,
)
from petcover.domain.dispatch_scope import blocking_rule, scope_filter
from petcover.errors import Conflict, StaleWrite, Unavailable
from petcover.models.dispatch import DispatchDecision, DispatchMessage, DispatchRecord, RecordState
from petcover.models.partners import ProviderConfig
from petcover.observability import logger
from petcover.ports import Ports, WriteOp
from petcover.repositories import dispatch as repo
from petcover.services import outbox
from petcover.services.dispatch import counters, coverage, handoff, providers, rules, stock_check
from petcover.services.dispatch.handoff import AssignFn
from petcover.services.dispatch.messages import order_facts, parse_message
from petcover.services.dispatch.providers import ConfirmFn, ProvidersFn, confirm_active

AUTO = "dispatch"
CLAIM_LEASE = timedelta(seconds=75)  # > the consumer's 60 s timeout, < the queue's 120 s visibility

_rng = random.Random()


def clear_caches() -> None:
    """Forget this container's cached active providers and rule sets."""
    providers.clear_cache()
    rules.clear_cache()


def dispatch_one(
    p: Ports,
    msg: Mapping[str, Any] | DispatchMessage,
    *,
    assign: AssignFn | None = None,
    rng: random.Random | None = None,
    providers: ProvidersFn | None = None,
    confirm: ConfirmFn | None = None,
) -> DispatchRecord:
    """Decide, count and assign one appointment; the same message twice counts once."""
    message = msg if isinstance(msg, DispatchMessage) else parse_message(msg)
    assign_fn = assign or handoff.default_assign()
    rec, claim = _claim(p, message)
    if claim == "stale":  # a round before a decline: the newer round decides
        logger.info("stale dispatch message ignored", extra={"appointment_id": message.appointment_id})
        return rec
    if claim == "claimed":
        # Fulfilment's own hand-off may ride on the decision's transaction; a test's recorder may not.
        decide_now = partial(_decide, p, message, rec, rng or _rng, providers, confirm, together=assign is None)
        try:
            rec, assigned = decide_now()
        except _RulesChanged:  # published while this container had the old rules cached: decide on the new
            rec, assigned = decide_now()
        if assigned:
            return rec
    assert rec.decision is not None
    assign_fn(p, message.appointment_id, rec.decision.provider_id, rec.decision.model_dump(mode="json"))
    return rec


# ---------------------------------------------------------------- the record


Claim = Literal["claimed", "decided", "stale"]


def _claim(p: Ports, msg: DispatchMessage) -> tuple[DispatchRecord, Claim]:
    """Claim the appointment for the message's round; returns the record and what to do with it."""
    now = p.now()
    rec = DispatchRecord(
        appointment_id=msg.appointment_id, message=msg, state="pending", received_at=now, version=1, round=msg.round
    )
    try:
        p.store.put(repo.claim_item(rec, now), if_absent=True)
        return rec, "claimed"
    except StaleWrite:
        pass
    existing = p.store.get(*repo.decision_key(msg.appointment_id))
    if existing is None:  # records are never deleted; only a store hiccup gets here
        raise Unavailable("The dispatch record could not be read back; retry shortly.")
    stored = repo.record_from_item(existing)
    if msg.round < stored.round:
        return stored, "stale"
    if msg.round > stored.round:
        return _new_round(p, stored, msg, now), "claimed"
    if stored.state != "pending":
        return stored, "decided"
    if now - repo.claimed_at(existing, stored) < CLAIM_LEASE:
        raise Conflict(
            f"Appointment {msg.appointment_id} is being dispatched by another worker.",
            code="DISPATCH_IN_PROGRESS",
            retry_after=int(CLAIM_LEASE.total_seconds()),
        )
    try:  # the worker that claimed it died: take the claim over
        repo.take_over_claim(p.store, stored, now)
    except StaleWrite:
        raise Conflict(
            f"Appointment {msg.appointment_id} was taken over by another worker.", code="DISPATCH_IN_PROGRESS"
        ) from None
    logger.warning("took over a stale dispatch claim", extra={"appointment_id": msg.appointment_id})
    return stored.model_copy(update={"version": stored.version + 1}), "claimed"


def _new_round(p: Ports, stored: DispatchRecord, msg: DispatchMessage, now: datetime) -> DispatchRecord:
    """A provider declined: claim the record again for the new round, and give back the slot the
    declining provider was counted for (one transaction, so a retry cannot give it back twice)."""
    history = [*stored.history, stored.decision] if stored.decision else stored.history
    new = stored.model_copy(
        update={
            "message": msg,
            "state": "pending",
            "decision": None,
            "history": history,
            "received_at": now,
            "round": msg.round,
            "version": stored.version + 1,
        }
    )
    ops: list[WriteOp] = [repo.start_round(new, now, previous_version=stored.version), *repo.left_queue(stored.state)]
    old = stored.decision
    if old is not None and old.provider_id in msg.declined and old.counter_scope is not None:
        ops += repo.give_back(old.business_date, old.counter_scope, old.provider_id, now)
    try:
        p.store.transact(ops)
    except StaleWrite:
        raise Conflict(
            f"Appointment {msg.appointment_id} is being dispatched by another worker.",
            code="DISPATCH_IN_PROGRESS",
            retry_after=5,
        ) from None
    logger.info("dispatching again after a decline", extra={"appointment_id": msg.appointment_id, "round": msg.round})
    return new


class _Full(Exception):
    """The chosen provider's daily capacity was reached by another order meanwhile."""


class _RulesChanged(Unavailable):
    """A rule set was published after the cached one this decision was made on (retried if it happens twice)."""

    def __init__(self, appointment_id: str) -> None:
        super().__init__(f"The dispatch rules changed while {appointment_id} was being decided; it will be retried.")


def _settle(
    p: Ports, rec: DispatchRecord, state: RecordState, decision: DispatchDecision, counted: Sequence[WriteOp] = ()
) -> DispatchRecord:
    """pending -> assigned | manual, conditional on our claim still being the one stored; with
    ``counted`` (the day's counters, in the same transaction), ``_Full`` when the provider's slot
    was taken meanwhile and the claim is still ours."""
    new = rec.model_copy(update={"state": state, "decision": decision, "version": rec.version + 1})
    try:
        if counted:
            p.store.transact([*counted, *repo.settle_ops(new, state, previous_version=rec.version)])
        else:
            repo.settle(p.store, new, state, previous_version=rec.version)
    except StaleWrite:
        stored = p.store.get(*repo.decision_key(rec.appointment_id))
        if counted and stored is not None and int(stored.get("version") or 0) == rec.version:
            raise _Full from None
        logger.error("dispatch claim lost before it settled", extra={"appointment_id": rec.appointment_id})
        raise Conflict(
            f"The dispatch claim on {rec.appointment_id} was taken over; the message will be retried.",
            code="DISPATCH_CLAIM_LOST",
        ) from None
    return new


def _manual(
    p: Ports,
    rec: DispatchRecord,
    decision: DispatchDecision,
    gap_region: str,
    kind: str,
    missing: list[str] | None = None,
    rule: str | None = None,
) -> DispatchRecord:
    """Nobody can take it: coverage gap, then the operations queue. The order is never dropped.

    ``missing``: the SKUs no candidate stocked (the gap is then ``no_stock`` and names them)."""
    if missing:
        kind = "no_stock"
        decision = decision.model_copy(update={"reason": stock_check.gap_reason(rec.message, decision.reason, missing)})
    coverage.record_gap(p, gap_region, decision.service_type, rec.appointment_id, kind, decision.reason, missing, rule)
    return _settle(p, rec, "manual", decision)


# ---------------------------------------------------------------- deciding


def _decision(
    msg: DispatchMessage,
    d: Decision,
    day: str,
    scope: str | None,
    now: datetime,
    attempts: int,
    excluded: dict[str, str],
) -> DispatchDecision:
    return DispatchDecision(
        appointment_id=msg.appointment_id,
        provider_id=d.provider_id,
        step=d.step,
        rule_version=d.rule_version,
        region_code=d.region_code,
        service_type=d.service_type,
        counter_scope=scope,
        business_date=day,
        candidates=d.candidates,
        excluded=excluded,
        coverage_gap=d.coverage_gap,
        reason=d.reason,
        decided_at=now,
        decided_by=AUTO,
        attempts=attempts,
        assessment=d.assessment,
    )


def _no_rules(msg: DispatchMessage, day: str, now: datetime) -> DispatchDecision:
    return DispatchDecision(
        appointment_id=msg.appointment_id,
        provider_id=None,
        step="manual",
        rule_version=None,
        region_code=None,
        service_type=msg.service_type,
        counter_scope=None,
        business_date=day,
        candidates=[],
        coverage_gap=True,
        reason="No dispatch rules are in effect yet, so the order goes to the operations queue.",
        decided_at=now,
        decided_by=AUTO,
    )


@dataclass
class _Order:
    """One order being decided by a rule: what every attempt at it shares."""

    msg: DispatchMessage
    facts: OrderFacts
    ruleset: RuleSet
    rule: RegionRule
    day: str
    now: datetime
    rng: random.Random
    head_version: int | None  # the rules' HEAD it is decided on
    scope: str = field(init=False)
    capacity: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.scope = counter_scope(self.rule)
        self.capacity = {s.provider_id: s.daily_capacity for s in self.rule.providers}

    def decision(self, d: Decision, attempt: int, excluded: dict[str, str]) -> DispatchDecision:
        return _decision(self.msg, d, self.day, self.scope, self.now, attempt, excluded)


def _decide(
    p: Ports,
    msg: DispatchMessage,
    rec: DispatchRecord,
    rng: random.Random,
    providers_fn: ProvidersFn | None,
    confirm: ConfirmFn | None,
    *,
    together: bool,
) -> tuple[DispatchRecord, bool]:
    """The settled record, and whether the order was assigned in the decision's own transaction."""
    now = p.now()
    day = counters.business_date(p, now)
    facts = order_facts(msg)
    stock_check.clear_leftovers(p, msg)
    ruleset, head_version = rules.in_effect_held(p, now)
    rule = resolve_rule(ruleset, facts) if ruleset else None
    if rule is None and rules.moved_since(p, head_version):  # a gap in the cached rules: worth one read
        raise _RulesChanged(msg.appointment_id)
    if ruleset is None:
        return _manual(p, rec, _no_rules(msg, day, now), msg.region_code, "no_rule"), False
    if rule is None:
        d = decide(ruleset, facts, {}, None, rng)
        gap = region_chain(facts)[0]
        return _manual(p, rec, _decision(msg, d, day, None, now, 1, {}), gap, "no_rule"), False
    order = _Order(msg, facts, ruleset, rule, day, now, rng, head_version)
    # Orders with items reserve stock between deciding and settling: they keep the two-step hand-off.
    return _decide_by_rule(p, rec, order, providers_fn, confirm, together=together and not msg.items)


def _counted(o: _Order, provider_id: str) -> list[WriteOp]:
    """One of the provider's slots (only while under its capacity) and one more for the scope."""
    now = o.now
    return [
        repo.counter_add(repo.counter_key(o.day, o.scope, provider_id), now, below=o.capacity[provider_id]),
        repo.counter_add(repo.total_key(o.day, o.scope), now),
    ]


def _gap_rule(excluded: dict[str, str], declined: dict[str, str], misfit: dict[str, str]) -> str:
    """What left an order without a candidate when no scope or binding rule did."""
    if any(why == "at full daily capacity" for why in excluded.values()):
        return "daily_capacity"
    if declined and set(excluded) <= set(declined):
        return "declined"
    return "provider_configuration" if misfit else "no_active_provider"


def _confirmed(
    p: Ports, provider_id: str, cached: Mapping[str, ProviderConfig], confirm: ConfirmFn | None
) -> tuple[ProviderConfig | None, list[WriteOp]]:
    """The chosen provider's configuration, and the conditions the decision's transaction carries.

    Warm path: the container's cached configuration (at most ``PROVIDER_CACHE_SECONDS`` old), held
    by conditions in the decision's own transaction (account and configuration active, same
    configuration version), so a suspension or an approved change is honoured at commit without a
    consistent read before it. With ``confirm`` given, or a provider not in the cache: one read."""
    cfg = cached.get(provider_id) if confirm is None else None
    if cfg is not None:
        return cfg, providers.standing_checks(cfg)
    return (confirm or confirm_active)(p, provider_id), []


def _decide_by_rule(
    p: Ports,
    rec: DispatchRecord,
    o: _Order,
    providers_fn: ProvidersFn | None,
    confirm: ConfirmFn | None,
    *,
    together: bool,
) -> tuple[DispatchRecord, bool]:
    """Decide, confirm the provider, reserve its stock and take one of its slots; decide again when any fails.

    ``together``: the first attempt reads the counts and what fulfilment's assignment needs in one
    batch, and commits the decision, the slot and the assignment in one transaction
    (``fulfilment.assignment.first_assignment_ops``). If that transaction is refused, the next
    attempt goes the two-step way (settle, then ``assign`` under the order's lock), which tells a
    full provider from a changed order.

    Long because each refusal (unfit, out of stock, full, a changed order) decides again, in one
    loop, with what it learned."""
    listed = providers.active_configs(p, providers_fn)
    if providers_fn is None:
        configs = providers.with_unlisted(p, listed, [s.provider_id for s in o.rule.providers])
    else:
        configs = {c.provider_id: c for c in listed}
    cached = configs if providers_fn is None else {}
    allowed, misfit = providers.fitting(o.rule, o.msg, configs)
    declined = {pid: f"declined the order: {why}" for pid, why in o.msg.declined.items()}
    allowed -= set(declined)
    short, missing = stock_check.stock_misfits(p, o.msg, allowed)
    misfit.update(short)
    allowed -= set(short)
    bound = providers.bound_ids(p, o.msg)
    dropped: dict[str, str] = {}  # providers found unfit while confirming, this dispatch only
    full: set[str] = set()  # providers whose conditional ADD failed: at capacity, whatever a stale read says
    redone = 0  # a refused one-transaction attempt is made again the two-step way, as the same attempt
    for tries in range(1, len(o.rule.providers) + 2 + together):
        attempt = tries - redone
        counts, known = handoff.counts(p, o.day, o.scope, list(o.capacity), o.msg, together)
        if rules.moved(p, known, o.head_version):
            raise _RulesChanged(o.msg.appointment_id)  # published since this container cached the rules
        for pid in full:
            counts[pid] = max(counts.get(pid, 0), o.capacity[pid])
        candidates = allowed - set(dropped)
        open_ = {pid for pid in candidates if counts.get(pid, 0) < o.capacity[pid]}
        scoped = scope_filter(o.rule, o.facts, open_, bound=bound, insurer_id=o.msg.insurer_id)
        d = decide(o.ruleset, o.facts, counts, candidates - set(scoped), o.rng)
        reasons = {**{k: v.reason for k, v in scoped.items()}, **misfit, **dropped, **declined}
        excluded = {
            pid: reasons.get(pid, "not an active, reviewed provider") if why == "inactive" else why
            for pid, why in d.excluded.items()
        }
        if d.provider_id is None:
            counters.count_total(p, o.day, o.scope)
            decision = o.decision(d, attempt, excluded)
            rule = blocking_rule(scoped) or _gap_rule(excluded, declined, misfit)
            return _manual(p, rec, decision, o.rule.region_code, "no_provider", missing, rule), False
        cfg, held = _confirmed(p, d.provider_id, cached, confirm)
        why_not = "no longer an active, reviewed provider" if cfg is None else providers.misfit(cfg, o.msg)
        if why_not:
            dropped[d.provider_id] = why_not
            providers.forget(p)
            continue
        lacking = stock_check.reserve(p, o.msg, d.provider_id, attempt)
        if lacking is not None:  # another order took the last units: decide again without it
            dropped[d.provider_id] = f"out of stock of {lacking} in region {stock_check.region_of(o.msg)}"
            missing = sorted({*missing, lacking})
            continue
        decision = o.decision(d, attempt, excluded)
        try:
            done = _commit(p, rec, o, decision, [*_counted(o, d.provider_id), *held], known if together else None)
        except _Full:  # lost the race for its last slot, or the cached provider changed: decide again
            _refused(p, o, d.provider_id, cfg if held else None, cached, full)
            continue
        if done is None:  # the order, its lock or the slot: the two-step way tells which
            together, redone = False, 1
            continue
        return done
    raise Unavailable(
        f"Could not settle a provider for {o.msg.appointment_id} after {attempt} attempts; it will be retried.",
        retry_after=1,
    )


def _commit(
    p: Ports,
    rec: DispatchRecord,
    o: _Order,
    decision: DispatchDecision,
    counted: list[WriteOp],
    known: dict[tuple[str, str], Any] | None,
) -> tuple[DispatchRecord, bool] | None:
    """Settle the decision with its slot; with ``known`` and a pending order, the assignment too.
    Returns the record and whether it was assigned; None when the one transaction was refused."""
    hand_off = handoff.with_decision(p, known, decision)
    if hand_off is None:
        return _settle(p, rec, "assigned", decision, counted), False
    writes, outbox_ids = hand_off
    try:
        settled = _settle(p, rec, "assigned", decision, [*counted, *writes])
    except _Full:
        return None
    outbox.release(p, *outbox_ids)
    return settled, True


def _refused(
    p: Ports, o: _Order, provider_id: str, cfg: ProviderConfig | None, cached: dict[str, ProviderConfig], full: set[str]
) -> None:
    """The decision's transaction was refused with the claim still ours: the provider's standing
    changed since it was cached (forget it; the next attempt reads it consistently), or its last
    slot was taken (count it full). Either way its stock reservation is given back."""
    if cfg is not None:  # it was held to its cached standing: was that what failed?
        cached.pop(provider_id, None)
        fresh = confirm_active(p, provider_id)
        if fresh is None or fresh.version != cfg.version:
            providers.forget(p)
            stock_check.give_back(p, o.msg, f"provider {provider_id} changed before the assignment committed")
            return
    stock_check.give_back(p, o.msg, f"provider {provider_id} reached its daily capacity")
    full.add(provider_id)
