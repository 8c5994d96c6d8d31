"""Smart dispatch of appointments to providers: the DispatchQueue consumer's work and the ops views.

One message per appointment (sent by fulfilment). The decision itself is the pure
``domain.dispatch.decide``; this module reads what it needs, enforces capacity with a conditional
ADD, records why, and hands the result to ``fulfilment.assign``.

Items (main table):

- ``DISPATCH#{appointment}`` / ``DECISION``   the dispatch record (``data``: DispatchRecord):
      ``state`` pending -> assigned | manual -> overridden, ``version`` moved by every write,
      ``owner`` = the provider, ``ref`` = when the current claim was taken; while the appointment
      waits in the operations queue ``gsi2pk = MANUALQ``, ``gsi2sk = {received_at}#{appointment}``.
- ``DCOUNT#{date}#{region}#{service}`` / ``{provider}``  ``n``: orders assigned today in that
      counter scope; ADD 1 on condition ``n < daily_capacity`` (absent counts as 0, so a counter
      is created lazily on first use; the midnight schedule creates them at 0 beforehand).
- ``DCOUNT#{date}#{region}#{service}`` / ``#TOTAL``  ``n``: orders routed to the scope today,
      including the ones that went to the operations queue. Today's counts are one Query.
- ``DISPATCHGAP`` / ``{region}#{service}``  coverage gap: ``n`` occurrences, ``ref`` = first seen,
      ``data`` = the last occurrence.

Idempotent by appointment: the record is claimed with a put-if-absent before anything moves. A
redelivered message whose record is decided re-calls ``assign`` with the stored decision and
moves no counter. A claim left ``pending`` by a consumer that died is taken over once it is
older than ``CLAIM_LEASE`` (longer than the function timeout); the only double count possible is
a consumer dying between its counter ADD and the write that settles the record.
"""

from __future__ import annotations

import importlib
import json
import random
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from petcover.config import get_settings
from petcover.domain.dispatch import (
    Candidate,
    Decision,
    OrderFacts,
    RegionRule,
    counter_scope,
    decide,
    region_chain,
    resolve_rule,
)
from petcover.errors import (
    BusinessRuleViolation,
    Conflict,
    InvalidInput,
    NotFound,
    StaleWrite,
    Unavailable,
)
from petcover.identity import Principal
from petcover.models.dispatch import (
    CounterView,
    CoverageGap,
    CoverageGapList,
    DispatchDecision,
    DispatchMessage,
    DispatchRecord,
    ManualAssignRequest,
    ManualQueue,
    ManualQueueEntry,
    ProviderCount,
    RecordState,
)
from petcover.models.partners import ProviderConfig
from petcover.observability import logger
from petcover.ports import Cond, Item, Ports
from petcover.services import audit, dispatch_rules, partners

DECISION_SK = "DECISION"
MANUAL_QUEUE = "MANUALQ"
GAP_PK = "DISPATCHGAP"
TOTAL_SK = "#TOTAL"
AUTO = "dispatch"
ENTITY = "appointment_dispatch"
CLAIM_LEASE = timedelta(seconds=75)  # > the consumer's 60 s timeout, < the queue's 120 s visibility
COUNTER_TTL = timedelta(days=100)
PROVIDER_CACHE_SECONDS = 10.0
INIT_WORKERS = 8

AssignFn = Callable[[Ports, str, str | None, dict[str, Any]], Any]
ProvidersFn = Callable[[Ports], Sequence[ProviderConfig]]
ConfirmFn = Callable[[Ports, str], ProviderConfig | None]

_rng = random.Random()


def _default_assign() -> AssignFn:
    """fulfilment.assign(p, appointment_id, provider_id_or_None, decision_dict), idempotent on its side."""
    return importlib.import_module("petcover.services.fulfilment").assign  # type: ignore[no-any-return]


def decision_key(appointment_id: str) -> tuple[str, str]:
    return f"DISPATCH#{appointment_id}", DECISION_SK


def counter_pk(day: str, scope: str) -> str:
    return f"DCOUNT#{day}#{scope}"


def business_date(p: Ports, at: datetime | None = None) -> str:
    """The day counters belong to, in the business timezone (Asia/Shanghai)."""
    return (at or p.now()).astimezone(ZoneInfo(get_settings().timezone)).date().isoformat()


# ---------------------------------------------------------------- active providers (cached per container)

_providers: weakref.WeakKeyDictionary[Any, tuple[float, list[ProviderConfig]]] = weakref.WeakKeyDictionary()
_providers_lock = threading.Lock()


def clear_caches() -> None:
    with _providers_lock:
        _providers.clear()
    dispatch_rules.clear_cache()


def _forget_providers(p: Ports) -> None:
    with _providers_lock:
        _providers.pop(p.store, None)


def _active_configs(p: Ports, providers: ProvidersFn | None) -> list[ProviderConfig]:
    if providers is not None:
        return list(providers(p))
    with _providers_lock:
        hit = _providers.get(p.store)
    if hit is not None and time.monotonic() - hit[0] < PROVIDER_CACHE_SECONDS:
        return hit[1]
    configs = partners.active_providers(p)
    with _providers_lock:
        _providers[p.store] = (time.monotonic(), configs)
    return configs


def _misfit(cfg: ProviderConfig, msg: DispatchMessage) -> str | None:
    """Why an active provider's own configuration rules it out for this order, if it does."""
    if not cfg.offers(msg.service_type):
        return f"does not offer {msg.service_type} (provider configuration v{cfg.version})"
    if not cfg.covers(msg.region_code):
        return f"does not serve region {msg.region_code} (provider configuration v{cfg.version})"
    return None


# ---------------------------------------------------------------- counters


def read_counts(p: Ports, day: str, scope: str) -> tuple[dict[str, int], int]:
    """Today's per-provider counts and the scope total: one Query."""
    counts: dict[str, int] = {}
    total = 0
    cursor = None
    while True:
        page = p.store.query(counter_pk(day, scope), limit=1000, cursor=cursor)
        for item in page.items:
            n = int(item.get("n") or 0)
            if item["sk"] == TOTAL_SK:
                total = n
            else:
                counts[str(item["sk"])] = n
        cursor = page.cursor
        if not cursor:
            return counts, total


def _counter_attrs(p: Ports) -> dict[str, Any]:
    return {"kind": "dispatch_counter", "expires_at": int((p.now() + COUNTER_TTL).timestamp())}


def _count(p: Ports, day: str, scope: str, provider_id: str, capacity: int | None, by: int = 1) -> int:
    """ADD to a provider's counter; with a capacity, only while it is below it (StaleWrite if not)."""
    expect: list[Cond] = [("n", "<?", capacity)] if capacity is not None else []
    item = p.store.update(counter_pk(day, scope), provider_id, add={"n": by}, set=_counter_attrs(p), expect=expect)
    return int(item.get("n") or 0)


def _count_total(p: Ports, day: str, scope: str) -> None:
    p.store.update(counter_pk(day, scope), TOTAL_SK, add={"n": 1}, set=_counter_attrs(p))


def init_counters(p: Ports) -> dict[str, Any]:
    """Midnight: today's counter items at 0 for every scope of the rules in force today (put if absent)."""
    now = p.now()
    day = business_date(p, now)
    tz = ZoneInfo(get_settings().timezone)
    local = now.astimezone(tz)
    day_end = (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).astimezone(now.tzinfo)
    keys: set[tuple[str, str]] = set()
    scopes: set[str] = set()
    for rs in dispatch_rules.scheduled_rulesets(p):
        if rs.effective_at >= day_end:
            continue  # takes effect after today: tomorrow's run (or first use) creates its counters
        for rule in rs.rules:
            scope = counter_scope(rule)
            scopes.add(scope)
            keys.add((counter_pk(day, scope), TOTAL_SK))
            keys.update((counter_pk(day, scope), s.provider_id) for s in rule.providers)
    attrs = _counter_attrs(p)

    def put(key: tuple[str, str]) -> bool:
        try:
            p.store.put({"pk": key[0], "sk": key[1], "n": 0, **attrs}, if_absent=True)
            return True
        except StaleWrite:
            return False  # already there (first use came first, or a second run)

    with ThreadPoolExecutor(max_workers=INIT_WORKERS) as pool:
        created = sum(pool.map(put, sorted(keys)))
    return {"date": day, "scopes": len(scopes), "counters": len(keys), "created": created}


def counters(p: Ports, region_code: str, service_type: str, day: str | None = None) -> CounterView:
    """Today's (or ``day``'s) counts for one region+service type, with the shares in force now."""
    day = day or business_date(p)
    scope = f"{region_code}#{service_type}"
    counts, total = read_counts(p, day, scope)
    rs = dispatch_rules.in_effect(p)
    rule = rs.rule_for(region_code, service_type) if rs else None
    shares = {s.provider_id: s for s in rule.providers} if rule else {}
    assigned = sum(counts.values())
    ids = [*shares, *sorted(set(counts) - set(shares))]
    return CounterView(
        business_date=day,
        counter_scope=scope,
        rule_version=rs.version if rule and rs else None,
        total=total,
        providers=[
            ProviderCount(
                provider_id=pid,
                assigned=counts.get(pid, 0),
                daily_capacity=shares[pid].daily_capacity if pid in shares else None,
                target_pct=float(shares[pid].share_pct) if pid in shares else None,
                actual_pct=100 * counts.get(pid, 0) / assigned if assigned else 0.0,
            )
            for pid in ids
        ],
    )


# ---------------------------------------------------------------- the record


def _load(item: Item) -> DispatchRecord:
    rec = DispatchRecord.model_validate(json.loads(item["data"]))
    return rec.model_copy(update={"state": item.get("state", rec.state), "version": int(item.get("version") or 1)})


def _claim(p: Ports, msg: DispatchMessage) -> tuple[DispatchRecord, bool]:
    """Claim the appointment; returns (record, already_decided)."""
    pk, sk = decision_key(msg.appointment_id)
    now = p.now()
    rec = DispatchRecord(appointment_id=msg.appointment_id, message=msg, state="pending", received_at=now, version=1)
    item: Item = {
        "pk": pk,
        "sk": sk,
        "kind": "dispatch_decision",
        "state": "pending",
        "version": 1,
        "ref": now.isoformat(),
        "data": rec.model_dump_json(),
    }
    try:
        p.store.put(item, if_absent=True)
        return rec, False
    except StaleWrite:
        pass
    existing = p.store.get(pk, sk)
    if existing is None:  # records are never deleted; only a store hiccup gets here
        raise Unavailable("The dispatch record could not be read back; retry shortly.")
    stored = _load(existing)
    if stored.state != "pending":
        return stored, True
    claimed_at = datetime.fromisoformat(str(existing.get("ref") or stored.received_at.isoformat()))
    if now - claimed_at < CLAIM_LEASE:
        raise Conflict(
            f"Appointment {msg.appointment_id} is being dispatched by another worker.",
            code="DISPATCH_IN_PROGRESS",
            retry_after=int(CLAIM_LEASE.total_seconds()),
        )
    try:  # the worker that claimed it died: take the claim over
        p.store.update(
            pk,
            sk,
            set={"ref": now.isoformat()},
            add={"version": 1},
            expect=[("state", "=", "pending"), ("version", "=", stored.version)],
        )
    except StaleWrite:
        raise Conflict(
            f"Appointment {msg.appointment_id} was taken over by another worker.", code="DISPATCH_IN_PROGRESS"
        ) from None
    logger.warning("took over a stale dispatch claim", extra={"appointment_id": msg.appointment_id})
    return stored.model_copy(update={"version": stored.version + 1}), False


def _settle(p: Ports, rec: DispatchRecord, state: RecordState, decision: DispatchDecision) -> DispatchRecord:
    """pending -> assigned | manual, conditional on our claim still being the one stored."""
    new = rec.model_copy(update={"state": state, "decision": decision, "version": rec.version + 1})
    pk, sk = decision_key(rec.appointment_id)
    sets: dict[str, Any] = {"state": state, "owner": decision.provider_id, "data": new.model_dump_json()}
    if state == "manual":
        sets["gsi2pk"] = MANUAL_QUEUE
        sets["gsi2sk"] = f"{rec.received_at.isoformat()}#{rec.appointment_id}"
    try:
        p.store.update(
            pk, sk, set=sets, add={"version": 1}, expect=[("state", "=", "pending"), ("version", "=", rec.version)]
        )
    except StaleWrite:
        logger.error("dispatch claim lost before it settled", extra={"appointment_id": rec.appointment_id})
        raise Conflict(
            f"The dispatch claim on {rec.appointment_id} was taken over; the message will be retried.",
            code="DISPATCH_CLAIM_LOST",
        ) from None
    return new


# ---------------------------------------------------------------- coverage gaps


def _record_gap(p: Ports, region: str, service_type: str, appointment_id: str, kind: str, reason: str) -> None:
    now = p.now().isoformat()
    sk = f"{region}#{service_type}"
    data = json.dumps(
        {
            "region_code": region,
            "service_type": service_type,
            "last_seen": now,
            "last_appointment_id": appointment_id,
            "last_kind": kind,
            "last_reason": reason,
        }
    )
    for _ in range(3):
        try:
            p.store.update(GAP_PK, sk, add={"n": 1}, set={"data": data}, must_exist=True)
            return
        except StaleWrite:
            pass
        try:
            p.store.put(
                {"pk": GAP_PK, "sk": sk, "kind": "dispatch_gap", "n": 1, "ref": now, "data": data}, if_absent=True
            )
            return
        except StaleWrite:
            pass  # created meanwhile: count on it
    raise Unavailable("The coverage-gap counter is contended; retry shortly.")


def coverage_gaps(p: Ports, limit: int = 50, cursor: str | None = None) -> CoverageGapList:
    page = p.store.query(GAP_PK, limit=limit, cursor=cursor)
    items = []
    for item in page.items:
        d = json.loads(item["data"])
        items.append(CoverageGap(count=int(item.get("n") or 0), first_seen=str(item.get("ref") or d["last_seen"]), **d))
    items.sort(key=lambda g: (-g.count, g.region_code, g.service_type))
    return CoverageGapList(items=items, cursor=page.cursor)


# ---------------------------------------------------------------- dispatch (the consumer's work)


def parse_message(body: Mapping[str, Any]) -> DispatchMessage:
    try:
        return DispatchMessage.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput(
            "The dispatch message is malformed.",
            code="BAD_DISPATCH_MESSAGE",
            details=[{"field": ".".join(str(x) for x in e["loc"]), "message": e["msg"]} for e in exc.errors()],
        ) from None


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
    assign_fn = assign or _default_assign()
    rec, decided = _claim(p, message)
    if not decided:
        rec = _decide(p, message, rec, rng or _rng, providers, confirm or partners.active_provider_config)
    assert rec.decision is not None
    assign_fn(p, message.appointment_id, rec.decision.provider_id, rec.decision.model_dump(mode="json"))
    return rec


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
    )


def _decide(
    p: Ports,
    msg: DispatchMessage,
    rec: DispatchRecord,
    rng: random.Random,
    providers: ProvidersFn | None,
    confirm: ConfirmFn,
) -> DispatchRecord:
    now = p.now()
    day = business_date(p, now)
    order = OrderFacts(
        order_id=msg.appointment_id,
        service_type=msg.service_type,
        province=msg.province,
        city=msg.city,
        district=msg.district,
        national=msg.national,
    )
    ruleset = dispatch_rules.in_effect(p, now)
    if ruleset is None:
        decision = DispatchDecision(
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
        return _manual(p, rec, decision, msg.region_code, "no_rule")
    rule = resolve_rule(ruleset, order)
    if rule is None:
        d = decide(ruleset, order, {}, None, rng)
        return _manual(p, rec, _decision(msg, d, day, None, now, 1, {}), region_chain(order)[0], "no_rule")

    scope = counter_scope(rule)
    by_id = {c.provider_id: c for c in _active_configs(p, providers)}
    misfit: dict[str, str] = {}
    allowed: set[str] = set()
    for share in rule.providers:
        cfg = by_id.get(share.provider_id)
        if cfg is None:
            continue
        why = _misfit(cfg, msg)
        if why:
            misfit[share.provider_id] = why
        else:
            allowed.add(share.provider_id)
    dropped: dict[str, str] = {}  # providers found unfit while confirming, this dispatch only
    full: set[str] = set()  # providers whose conditional ADD failed: at capacity, whatever a stale read says
    capacity = {s.provider_id: s.daily_capacity for s in rule.providers}
    for attempt in range(1, len(rule.providers) + 2):
        counts, _ = read_counts(p, day, scope)
        for pid in full:
            counts[pid] = max(counts.get(pid, 0), capacity[pid])
        d = decide(ruleset, order, counts, allowed - set(dropped), rng)
        excluded = {
            pid: (misfit.get(pid) or dropped.get(pid) or "not an active, reviewed provider")
            if why == "inactive"
            else why
            for pid, why in d.excluded.items()
        }
        if d.provider_id is None:
            _count_total(p, day, scope)
            return _manual(
                p, rec, _decision(msg, d, day, scope, now, attempt, excluded), rule.region_code, "no_provider"
            )
        cfg = confirm(p, d.provider_id)
        why_not = "no longer an active, reviewed provider" if cfg is None else _misfit(cfg, msg)
        if why_not:
            dropped[d.provider_id] = why_not
            _forget_providers(p)
            continue
        try:
            _count(p, day, scope, d.provider_id, capacity[d.provider_id])
        except StaleWrite:
            full.add(d.provider_id)  # lost the race for its last slot: decide again with fresh counts
            continue
        _count_total(p, day, scope)
        return _settle(p, rec, "assigned", _decision(msg, d, day, scope, now, attempt, excluded))
    raise Unavailable(
        f"Could not settle a provider for {msg.appointment_id} after {attempt} attempts; it will be retried.",
        retry_after=1,
    )


def _manual(p: Ports, rec: DispatchRecord, decision: DispatchDecision, gap_region: str, kind: str) -> DispatchRecord:
    """Nobody can take it: coverage gap, then the operations queue. The order is never dropped."""
    _record_gap(p, gap_region, decision.service_type, rec.appointment_id, kind, decision.reason)
    return _settle(p, rec, "manual", decision)


# ---------------------------------------------------------------- ops: why, manual queue, manual assignment


def explain(p: Ports, appointment_id: str) -> DispatchRecord:
    """Why did appointment X go to provider Y: the stored decision, shares and step, in one read."""
    item = p.store.get(*decision_key(appointment_id), consistent=False)
    if item is None:
        raise NotFound(
            f"Appointment {appointment_id} has not been dispatched (no dispatch record).", code="DISPATCH_NOT_FOUND"
        )
    return _load(item)


def manual_queue(p: Ports, limit: int = 50, cursor: str | None = None) -> ManualQueue:
    """Appointments waiting in the operations queue, oldest first."""
    page = p.store.query(MANUAL_QUEUE, index="gsi2", limit=limit, cursor=cursor)
    items = []
    for item in page.items:
        rec = _load(item)
        items.append(
            ManualQueueEntry(
                appointment_id=rec.appointment_id,
                since=rec.received_at,
                service_type=rec.message.service_type,
                region_code=rec.message.region_code,
                policy_number=rec.message.policy_number,
                channel_id=rec.message.channel_id,
                reason=rec.decision.reason if rec.decision else "",
            )
        )
    return ManualQueue(items=items, cursor=page.cursor)


def _shares_now(p: Ports, rule: RegionRule | None, day: str, scope: str | None) -> list[Candidate]:
    if rule is None or scope is None:
        return []
    counts, _ = read_counts(p, day, scope)
    total = sum(counts.get(s.provider_id, 0) for s in rule.providers)
    return [
        Candidate(
            provider_id=s.provider_id,
            target_pct=float(s.share_pct),
            actual_pct=100 * counts.get(s.provider_id, 0) / total if total else 0.0,
            assigned_today=counts.get(s.provider_id, 0),
            remaining_capacity=s.daily_capacity - counts.get(s.provider_id, 0),
            weight=s.weight,
            scope=s.scope,
        )
        for s in rule.providers
    ]


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
    assign_fn = assign or _default_assign()
    confirm_fn = confirm or partners.active_provider_config
    pk, sk = decision_key(appointment_id)
    item = p.store.get(pk, sk)
    if item is None:
        raise NotFound(
            f"Appointment {appointment_id} has not reached dispatch yet (no dispatch record).",
            code="DISPATCH_NOT_FOUND",
        )
    rec = _load(item)
    if rec.state == "pending":
        raise Conflict(
            f"Appointment {appointment_id} is being dispatched right now; try again in a minute.",
            code="DISPATCH_IN_PROGRESS",
            retry_after=5,
        )
    cur = rec.decision
    assert cur is not None
    if cur.provider_id == body.provider_id:
        if cur.step == "manual_override":  # the same request again: hand it over again, move nothing
            assign_fn(p, appointment_id, cur.provider_id, cur.model_dump(mode="json"))
            return rec
        raise Conflict(
            f"Appointment {appointment_id} is already assigned to {body.provider_id}.", code="ALREADY_ASSIGNED"
        )
    msg = rec.message
    cfg = confirm_fn(p, body.provider_id)
    if cfg is None:
        raise BusinessRuleViolation(
            f"{body.provider_id} is not an active, reviewed provider and cannot receive orders.",
            code="PROVIDER_NOT_ACTIVE",
        )
    why_not = _misfit(cfg, msg)
    if why_not:
        raise BusinessRuleViolation(f"{body.provider_id} {why_not}.", code="PROVIDER_CANNOT_SERVE")

    now = p.now()
    day = business_date(p, now)
    ruleset = dispatch_rules.in_effect(p, now)
    order = OrderFacts(
        order_id=appointment_id,
        service_type=msg.service_type,
        province=msg.province,
        city=msg.city,
        district=msg.district,
        national=msg.national,
    )
    rule = resolve_rule(ruleset, order) if ruleset else None
    scope = counter_scope(rule) if rule else None
    share = next((s for s in rule.providers if s.provider_id == body.provider_id), None) if rule else None
    candidates = _shares_now(p, rule, day, scope)
    had = next((c.assigned_today for c in candidates if c.provider_id == body.provider_id), 0)
    actor = audit.actor_name(who)
    decision = DispatchDecision(
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
    # Fulfilment first: if it refuses (accepted by a provider already, cancelled), nothing here moves.
    # If the record write below then loses a race, the same request again is a no-op for fulfilment.
    assign_fn(p, appointment_id, body.provider_id, decision.model_dump(mode="json"))
    new = rec.model_copy(
        update={"state": "overridden", "decision": decision, "history": [*rec.history, cur], "version": rec.version + 1}
    )
    try:
        p.store.update(
            pk,
            sk,
            set={
                "state": "overridden",
                "owner": body.provider_id,
                "data": new.model_dump_json(),
                "gsi2pk": None,
                "gsi2sk": None,
            },
            add={"version": 1},
            expect=[("version", "=", rec.version)],
        )
    except StaleWrite:
        raise Conflict(
            f"The dispatch of {appointment_id} changed meanwhile; reload it and try again.", code="STALE_WRITE"
        ) from None
    # Counters follow the order so shares stay honest: the new provider counts (capacity is ops'
    # call here, flagged as over_capacity), the one it leaves today gives its slot back.
    if scope is not None:
        _count(p, day, scope, body.provider_id, None)
        if cur.provider_id and cur.counter_scope == scope and cur.business_date == day:
            _count(p, day, scope, cur.provider_id, None, by=-1)
        if not (cur.counter_scope == scope and cur.business_date == day):
            _count_total(p, day, scope)
    audit.record(
        p,
        who,
        ENTITY,
        appointment_id,
        "manual_assign",
        before={"state": rec.state, "provider_id": cur.provider_id, "step": cur.step},
        after={"state": "overridden", "provider_id": body.provider_id, "over_capacity": decision.over_capacity},
        reason=body.reason,
    )
    return new
