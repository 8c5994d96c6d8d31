"""The operations side of dispatch: why an appointment went where it went, the queue, assigning by hand."""

from __future__ import annotations

from petcover.domain.dispatch import counter_scope, resolve_rule
from petcover.errors import BusinessRuleViolation, Conflict, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.dispatch import (
    DispatchDecision,
    DispatchMessage,
    DispatchRecord,
    ManualAssignRequest,
    ManualQueue,
    ManualQueueEntry,
)
from petcover.ports import Ports
from petcover.repositories import dispatch as repo
from petcover.services import audit
from petcover.services.dispatch import counters, handoff, providers, rules
from petcover.services.dispatch.handoff import AssignFn
from petcover.services.dispatch.messages import order_facts
from petcover.services.dispatch.providers import ConfirmFn

ENTITY = "appointment_dispatch"


def explain(p: Ports, appointment_id: str) -> DispatchRecord:
    """Why did appointment X go to provider Y: the stored decision, shares and step, in one read."""
    item = p.store.get(*repo.decision_key(appointment_id), consistent=False)
    if item is None:
        raise NotFound(
            f"Appointment {appointment_id} has not been dispatched (no dispatch record).", code="DISPATCH_NOT_FOUND"
        )
    return repo.record_from_item(item)


def manual_queue(p: Ports, limit: int = 50, cursor: str | None = None) -> ManualQueue:
    """Appointments waiting in the operations queue, oldest first."""
    records, next_cursor = repo.manual_queue_page(p.store, limit, cursor)
    items = [
        ManualQueueEntry(
            appointment_id=rec.appointment_id,
            since=rec.received_at,
            service_type=rec.message.service_type,
            region_code=rec.message.region_code,
            policy_number=rec.message.policy_number,
            channel_id=rec.message.channel_id,
            reason=rec.decision.reason if rec.decision else "",
        )
        for rec in records
    ]
    return ManualQueue(items=items, cursor=next_cursor)


def manual_assign(
    p: Ports,
    who: Principal,
    appointment_id: str,
    body: ManualAssignRequest,
    *,
    assign: AssignFn | None = None,
    confirm: ConfirmFn | None = None,
) -> DispatchRecord:
    """Ops assign an appointment by hand (from the queue, or away from the provider chosen)."""
    assign_fn = assign or handoff.default_assign()
    rec = _settled_record(p, appointment_id)
    cur = rec.decision
    assert cur is not None
    if cur.provider_id == body.provider_id:
        if cur.step == "manual_override":  # the same request again: hand it over again, move nothing
            assign_fn(p, appointment_id, cur.provider_id, cur.model_dump(mode="json"))
            return rec
        raise Conflict(
            f"Appointment {appointment_id} is already assigned to {body.provider_id}.", code="ALREADY_ASSIGNED"
        )
    if body.provider_id in rec.message.declined:
        raise BusinessRuleViolation(
            f"{body.provider_id} declined appointment {appointment_id} "
            f"({rec.message.declined[body.provider_id]}); choose another provider.",
            code="PROVIDER_DECLINED",
        )
    _check_provider(p, confirm or providers.confirm_active, body.provider_id, rec.message)
    decision = _override(p, who, rec.message, appointment_id, body)
    # Fulfilment first: if it refuses (accepted by a provider already, cancelled), nothing here moves.
    # If the record write below then loses a race, the same request again is a no-op for fulfilment.
    assign_fn(p, appointment_id, body.provider_id, decision.model_dump(mode="json"))
    new = rec.model_copy(
        update={"state": "overridden", "decision": decision, "history": [*rec.history, cur], "version": rec.version + 1}
    )
    record = audit.entry(
        p,
        who,
        ENTITY,
        appointment_id,
        "manual_assign",
        before={"state": rec.state, "provider_id": cur.provider_id, "step": cur.step},
        after={"state": "overridden", "provider_id": body.provider_id, "over_capacity": decision.over_capacity},
        reason=body.reason,
    )
    try:
        repo.save_override(p.store, new, previous_version=rec.version, also=[record, *repo.left_queue(rec.state)])
    except StaleWrite:
        raise Conflict(
            f"The dispatch of {appointment_id} changed meanwhile; reload it and try again.", code="STALE_WRITE"
        ) from None
    _move_counters(p, cur, decision)
    return new


def _settled_record(p: Ports, appointment_id: str) -> DispatchRecord:
    """The record of an appointment that dispatch has finished with (assigned, manual or overridden)."""
    item = p.store.get(*repo.decision_key(appointment_id))
    if item is None:
        raise NotFound(
            f"Appointment {appointment_id} has not reached dispatch yet (no dispatch record).",
            code="DISPATCH_NOT_FOUND",
        )
    rec = repo.record_from_item(item)
    if rec.state == "pending":
        raise Conflict(
            f"Appointment {appointment_id} is being dispatched right now; try again in a minute.",
            code="DISPATCH_IN_PROGRESS",
            retry_after=5,
        )
    return rec


def _check_provider(p: Ports, confirm: ConfirmFn, provider_id: str, msg: DispatchMessage) -> None:
    """Refuse a provider that is not active or whose configuration does not fit the order."""
    cfg = confirm(p, provider_id)
    if cfg is None:
        raise BusinessRuleViolation(
            f"{provider_id} is not an active, reviewed provider and cannot receive orders.",
            code="PROVIDER_NOT_ACTIVE",
        )
    why_not = providers.misfit(cfg, msg)
    if why_not:
        raise BusinessRuleViolation(f"{provider_id} {why_not}.", code="PROVIDER_CANNOT_SERVE")


def _override(
    p: Ports, who: Principal, msg: DispatchMessage, appointment_id: str, body: ManualAssignRequest
) -> DispatchDecision:
    """The decision ops make by hand, with the shares of the rule in force as they stand now."""
    now = p.now()
    day = counters.business_date(p, now)
    ruleset = rules.in_effect(p, now)
    rule = resolve_rule(ruleset, order_facts(msg)) if ruleset else None
    scope = counter_scope(rule) if rule else None
    share = next((s for s in rule.providers if s.provider_id == body.provider_id), None) if rule else None
    candidates = counters.shares_now(p, rule, day, scope)
    had = next((c.assigned_today for c in candidates if c.provider_id == body.provider_id), 0)
    actor = audit.actor_name(who)
    return DispatchDecision(
        appointment_id=appointment_id,
        provider_id=body.provider_id,
        step="manual_override",
        rule_version=ruleset.version if ruleset else None,
        region_code=rule.region_code if rule else None,
        service_type=msg.service_type,
        counter_scope=scope,
        business_date=day,
        candidates=candidates,
        coverage_gap=False,
        reason=f"Assigned by hand by {actor}: {body.reason}",
        decided_at=now,
        decided_by=actor,
        over_capacity=share is not None and had >= share.daily_capacity,
    )


def _move_counters(p: Ports, cur: DispatchDecision, new: DispatchDecision) -> None:
    """Counters follow the order so shares stay honest: the new provider counts (capacity is ops'
    call here, flagged as over_capacity), the one it leaves today gives its slot back."""
    day, scope = new.business_date, new.counter_scope
    if scope is None or new.provider_id is None:
        return
    counters.count(p, day, scope, new.provider_id, None)
    if cur.provider_id and cur.counter_scope == scope and cur.business_date == day:
        counters.count(p, day, scope, cur.provider_id, None, by=-1)
    if not (cur.counter_scope == scope and cur.business_date == day):
        counters.count_total(p, day, scope)
