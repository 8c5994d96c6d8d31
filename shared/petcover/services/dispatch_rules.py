"""Dispatch rule sets: immutable versions, a HEAD that knows which ones still matter, simulation.

Items (main table, partition ``DISPATCHRULES``):

- ``V#{version:05d}``  one published version, never changed: rules, effective_at, threshold,
                       daily target, who published it and when (``data``; the rules are stored
                       gzip+base64 when the JSON is large).
- ``HEAD``             ``version`` = the latest version (publishing is conditional on it) and
                       ``data.schedule``: the version in effect at publish time plus every version
                       scheduled later. Older versions can never be in effect again (a new version
                       never takes effect in the past), so the set in force at any time from now on
                       is ``ruleset_in_effect`` over the schedule.

Publishing writes the version and moves HEAD in one transaction, then audits on entity
``dispatch_rules/{version}``. The consumer reads the set in force through a per-container cache:
HEAD for ``CACHE_SECONDS``, versions forever (they are immutable); a publish clears the cache of
the container that published.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel

from petcover.domain import regions
from petcover.domain.dispatch import (
    NATIONAL_REGION,
    OrderFacts,
    RegionRule,
    RuleSet,
    parse_rules,
    ruleset_in_effect,
    simulate,
)
from petcover.errors import BusinessRuleViolation, Conflict, InvalidInput, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.dispatch import (
    MixEntry,
    RulesDraft,
    RuleSetSummary,
    RuleSetVersion,
    RulesOverview,
    RulesPublish,
    RuleStatus,
    SimulationOut,
    SimulationRequest,
)
from petcover.ports import Item, Ports, Put
from petcover.services import audit

PK = "DISPATCHRULES"
HEAD_SK = "HEAD"
ENTITY = "dispatch_rules"
CACHE_SECONDS = 5.0
PAST_SLACK = timedelta(minutes=5)
INLINE_RULES_BYTES = 200_000  # larger rule JSON is stored gzip+base64 (items are limited to 400 KB)


def version_sk(version: int) -> str:
    return f"V#{version:05d}"


class ScheduleEntry(BaseModel):
    version: int
    effective_at: AwareDatetime


class Head(BaseModel):
    version: int
    schedule: list[ScheduleEntry]


class _Stored(BaseModel):
    version: int
    effective_at: AwareDatetime
    deviation_threshold_pct: float
    daily_target: int
    published_at: AwareDatetime
    published_by: str
    note: str | None = None
    rules: list[dict[str, Any]] | None = None
    rules_gzip: str | None = None

    def rule_list(self) -> list[dict[str, Any]]:
        if self.rules is not None:
            return self.rules
        assert self.rules_gzip is not None
        return json.loads(gzip.decompress(base64.b64decode(self.rules_gzip)))  # type: ignore[no-any-return]


# ---------------------------------------------------------------- cache (per container, per store)


class _Cache:
    def __init__(self) -> None:
        self.head: Head | None = None
        self.head_at = -1e18
        self.versions: dict[int, RuleSetVersion] = {}
        self.rulesets: dict[int, RuleSet] = {}


_caches: weakref.WeakKeyDictionary[Any, _Cache] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _cache(p: Ports) -> _Cache:
    with _lock:
        c = _caches.get(p.store)
        if c is None:
            c = _caches[p.store] = _Cache()
        return c


def clear_cache(p: Ports | None = None) -> None:
    with _lock:
        if p is None:
            _caches.clear()
        else:
            _caches.pop(p.store, None)


# ---------------------------------------------------------------- reading


def _read_head(p: Ports) -> Head | None:
    item = p.store.get(PK, HEAD_SK)
    return Head.model_validate(json.loads(item["data"])) if item else None


def _cached_head(p: Ports) -> Head | None:
    c = _cache(p)
    if time.monotonic() - c.head_at > CACHE_SECONDS:
        head = _read_head(p)
        with _lock:
            c.head, c.head_at = head, time.monotonic()
    return c.head


def _version_from(item: Item) -> RuleSetVersion:
    s = _Stored.model_validate(json.loads(item["data"]))
    return RuleSetVersion(
        version=s.version,
        effective_at=s.effective_at,
        rules=[RegionRule.model_validate(r) for r in s.rule_list()],
        deviation_threshold_pct=s.deviation_threshold_pct,
        daily_target=s.daily_target,
        published_at=s.published_at,
        published_by=s.published_by,
        note=s.note,
    )


def _load_version(p: Ports, version: int) -> RuleSetVersion:
    c = _cache(p)
    hit = c.versions.get(version)
    if hit is not None:
        return hit
    item = p.store.get(PK, version_sk(version), consistent=False)
    if item is None:
        raise NotFound(f"There is no dispatch rule version {version}.", code="RULES_VERSION_NOT_FOUND")
    v = _version_from(item)
    with _lock:
        c.versions[version] = v
    return v


def _ruleset(p: Ports, version: int) -> RuleSet:
    c = _cache(p)
    hit = c.rulesets.get(version)
    if hit is not None:
        return hit
    v = _load_version(p, version)
    rs = RuleSet(
        version=v.version,
        effective_at=v.effective_at,
        rules=v.rules,
        deviation_threshold_pct=v.deviation_threshold_pct,
        daily_target=v.daily_target,
    )
    with _lock:
        c.rulesets[version] = rs
    return rs


def in_effect(p: Ports, at: datetime | None = None) -> RuleSet | None:
    """The rule set in force at ``at`` (now by default), from the per-container cache."""
    head = _cached_head(p)
    if head is None:
        return None
    return ruleset_in_effect([_ruleset(p, e.version) for e in head.schedule], at or p.now())


def scheduled_rulesets(p: Ports) -> list[RuleSet]:
    """The version in force at the last publish and every version scheduled after it."""
    head = _cached_head(p)
    return [_ruleset(p, e.version) for e in head.schedule] if head else []


def _status(v: int, effective_at: datetime, head: Head | None, live: int | None, now: datetime) -> RuleStatus:
    if v == live:
        return "in_effect"
    if head is not None and effective_at > now and any(e.version == v for e in head.schedule):
        return "scheduled"
    return "superseded"


def get_version(p: Ports, version: int) -> RuleSetVersion:
    v = _load_version(p, version)
    now = p.now()
    head = _read_head(p)
    live = _live_version(p, head, now)
    return v.model_copy(update={"status": _status(v.version, v.effective_at, head, live, now)})


def _live_version(p: Ports, head: Head | None, now: datetime) -> int | None:
    if head is None:
        return None
    rs = ruleset_in_effect([_ruleset(p, e.version) for e in head.schedule], now)
    return rs.version if rs else None


def overview(p: Ports, limit: int = 20, cursor: str | None = None) -> RulesOverview:
    """The set in force, what is scheduled, and the published versions newest first."""
    now = p.now()
    head = _read_head(p)
    live = _live_version(p, head, now)
    page = p.store.query(PK, sk_prefix="V#", descending=True, limit=limit, cursor=cursor)
    versions = []
    for item in page.items:
        s = _Stored.model_validate(json.loads(item["data"]))
        versions.append(
            RuleSetSummary(
                version=s.version,
                effective_at=s.effective_at,
                published_at=s.published_at,
                published_by=s.published_by,
                rule_count=len(s.rule_list()),
                note=s.note,
                status=_status(s.version, s.effective_at, head, live, now),
            )
        )
    current = None
    if live is not None:
        current = _load_version(p, live).model_copy(update={"status": "in_effect"})
    scheduled = [e.version for e in head.schedule if e.effective_at > now] if head else []
    return RulesOverview(
        in_effect=current,
        head_version=head.version if head else 0,
        scheduled=sorted(scheduled),
        versions=versions,
        cursor=page.cursor,
    )


# ---------------------------------------------------------------- publishing


def _parse(draft: RulesDraft) -> list[RegionRule]:
    """parse_rules, with the refusal under a code of its own (details name region, service, actual sum)."""
    try:
        return parse_rules([r.model_dump(mode="json") for r in draft.rules])
    except InvalidInput as exc:
        raise InvalidInput(exc.message, code="DISPATCH_RULES_INVALID", details=exc.details) from None


def _prune(entries: Sequence[ScheduleEntry], now: datetime) -> list[ScheduleEntry]:
    """Keep what can be in effect from now on: the one in force now and the ones scheduled later."""
    live = [e for e in entries if e.effective_at <= now]
    keep = [max(live, key=lambda e: (e.effective_at, e.version))] if live else []
    keep += [e for e in entries if e.effective_at > now]
    return sorted(keep, key=lambda e: e.version)


def _changed_scopes(before: Sequence[RegionRule], after: Sequence[RegionRule]) -> dict[str, list[str]]:
    old = {f"{r.region_code}#{r.service_type}": r for r in before}
    new = {f"{r.region_code}#{r.service_type}": r for r in after}
    return {
        "added": sorted(set(new) - set(old))[:200],
        "removed": sorted(set(old) - set(new))[:200],
        "changed": sorted(k for k in set(old) & set(new) if old[k] != new[k])[:200],
    }


def publish(p: Ports, who: Principal | str, body: RulesPublish) -> RuleSetVersion:
    """Validate and publish a new version; it takes effect at ``effective_at`` (now by default)."""
    rules = _parse(body)
    now = p.now()
    effective_at = body.effective_at or now
    if effective_at < now - PAST_SLACK:
        raise InvalidInput(
            "A rule version cannot take effect in the past; leave effective_at out to apply it now.",
            code="EFFECTIVE_AT_IN_PAST",
            details=[{"field": "effective_at", "message": f"{effective_at.isoformat()} is before {now.isoformat()}"}],
        )
    effective_at = max(effective_at, now)
    head = _read_head(p)
    current = head.version if head else 0
    if body.base_version is not None and body.base_version != current:
        raise Conflict(
            f"The draft was made from version {body.base_version}, but version {current} has been published "
            "since; review it and publish again.",
            code="RULES_CHANGED",
            details={"base_version": body.base_version, "head_version": current},
        )
    version = current + 1
    RuleSet(  # the domain model checks the whole set once more (shares, duplicates, exclusives)
        version=version,
        effective_at=effective_at,
        rules=rules,
        deviation_threshold_pct=body.deviation_threshold_pct,
        daily_target=body.daily_target,
    )
    actor = audit.actor_name(who)
    raw_rules = [r.model_dump(mode="json") for r in rules]
    text = json.dumps(raw_rules, separators=(",", ":"))
    stored = _Stored(
        version=version,
        effective_at=effective_at,
        deviation_threshold_pct=body.deviation_threshold_pct,
        daily_target=body.daily_target,
        published_at=now,
        published_by=actor,
        note=body.note,
        rules=raw_rules if len(text) <= INLINE_RULES_BYTES else None,
        rules_gzip=None if len(text) <= INLINE_RULES_BYTES else base64.b64encode(gzip.compress(text.encode())).decode(),
    )
    schedule = _prune(
        [*(head.schedule if head else []), ScheduleEntry(version=version, effective_at=effective_at)], now
    )
    new_head = Head(version=version, schedule=schedule)
    version_item: Item = {
        "pk": PK,
        "sk": version_sk(version),
        "kind": "dispatch_rules",
        "version": version,
        "data": stored.model_dump_json(exclude_none=True),
    }
    head_item: Item = {"pk": PK, "sk": HEAD_SK, "kind": "dispatch_rules_head", "version": version}
    head_item["data"] = new_head.model_dump_json()
    head_put = Put(head_item, if_absent=True) if head is None else Put(head_item, expect=[("version", "=", current)])
    try:
        p.store.transact([Put(version_item, if_absent=True), head_put])
    except StaleWrite:
        raise Conflict(
            "Another rule version was published at the same moment; reload and publish again.",
            code="RULES_CHANGED",
        ) from None
    previous = _load_version(p, current).rules if current else []
    audit.record(
        p,
        who,
        ENTITY,
        str(version),
        "published",
        before={"head_version": current, "in_effect": _live_version(p, head, now)},
        after={
            "version": version,
            "effective_at": effective_at.isoformat(),
            "deviation_threshold_pct": body.deviation_threshold_pct,
            "daily_target": body.daily_target,
            "rule_count": len(rules),
            "scopes": _changed_scopes(previous, rules),
        },
        reason=body.note,
    )
    clear_cache(p)
    status: RuleStatus = "in_effect" if effective_at <= now else "scheduled"
    return RuleSetVersion(
        version=version,
        effective_at=effective_at,
        rules=rules,
        deviation_threshold_pct=body.deviation_threshold_pct,
        daily_target=body.daily_target,
        published_at=now,
        published_by=actor,
        note=body.note,
        status=status,
    )


# ---------------------------------------------------------------- simulation (no reads, no writes)


def _entry_for(rule: RegionRule, rules: Sequence[RegionRule]) -> MixEntry | None:
    """A synthetic order that the rule (and no more specific one) resolves."""
    code = rule.region_code
    if code == NATIONAL_REGION:
        taken = {a for r in rules if r.service_type == rule.service_type for a in regions.ancestors(r.region_code)}
        province = next(
            (c for c, d in sorted(regions.table().items()) if d.level == "province" and c not in taken), None
        )
        return MixEntry(service_type=rule.service_type, province=province) if province else None
    chain = regions.ancestors(code)
    if len(chain) == 3:
        return MixEntry(service_type=rule.service_type, province=chain[2], city=chain[1], district=code)
    if len(chain) == 2:
        return MixEntry(service_type=rule.service_type, province=chain[1], city=code)
    return MixEntry(service_type=rule.service_type, province=code)


def simulate_draft(p: Ports, body: SimulationRequest) -> SimulationOut:
    """Run ``body.orders`` synthetic orders against a draft rule set, one after another."""
    rules = _parse(body)
    ruleset = RuleSet(
        version=1,
        effective_at=p.now(),
        rules=rules,
        deviation_threshold_pct=body.deviation_threshold_pct,
        daily_target=body.daily_target,
    )
    seed = body.seed if body.seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    mix = body.mix or [e for e in (_entry_for(r, rules) for r in rules) if e is not None]
    if not mix:
        raise BusinessRuleViolation("Give a mix of orders to simulate.", code="EMPTY_MIX")
    facts = [
        OrderFacts(
            order_id=f"sim-{i}",
            service_type=m.service_type,
            province=m.province,
            city=m.city,
            district=m.district,
            national=m.national,
        )
        for i, m in enumerate(mix)
    ]
    picks = rng.choices(facts, weights=[m.weight for m in mix], k=body.orders)
    t0 = time.perf_counter()
    result = simulate(
        ruleset,
        picks,
        rng,
        active_providers=set(body.active_providers) if body.active_providers is not None else None,
        warmup=body.warmup,
    )
    return SimulationOut(
        **result.model_dump(),
        max_final_deviation_pp=result.max_final_deviation_pp,
        seed=seed,
        mix=mix,
        elapsed_ms=int(1000 * (time.perf_counter() - t0)),
    )
