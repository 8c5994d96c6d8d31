"""Dispatch rule sets: immutable versions, a HEAD that knows which ones still matter.

Publishing writes the version and moves HEAD in one transaction, then audits on entity
``dispatch_rules/{version}``. HEAD's schedule holds the version in effect at publish time plus
every version scheduled later; older versions can never be in effect again (a new version never
takes effect in the past), so the set in force at any time from now on is ``ruleset_in_effect``
over the schedule. The consumer reads the set in force through a per-container cache: HEAD for
``CACHE_SECONDS``, versions forever (they are immutable); a publish clears the cache of the
container that published. Every dispatch decision reads HEAD in the batch it makes anyway (an
order with no rule in the cached set reads it on its own, ``moved_since``) and decides again on the
new rules when HEAD moved (``moved``), so a publish reaches the very next order, whatever container
takes it. Keys and stored shapes: ``petcover.repositories.dispatch``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from petcover.domain.dispatch import (
    RegionRule,
    RuleSet,
    ScheduleEntry,
    changed_scopes,
    parse_rules,
    prune_schedule,
    ruleset_in_effect,
)
from petcover.errors import Conflict, InvalidInput, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.dispatch import RulesDraft, RuleSetVersion, RulesOverview, RulesPublish, RuleStatus
from petcover.ports import Item, Ports, Put, WriteOp
from petcover.repositories import dispatch as repo
from petcover.repositories.dispatch import RulesHead
from petcover.services import audit

ENTITY = "dispatch_rules"
CACHE_SECONDS = 5.0
PAST_SLACK = timedelta(minutes=5)


# ---------------------------------------------------------------- cache (per container, per store)


class _Cache:
    def __init__(self) -> None:
        self.head: RulesHead | None = None
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


def _cached_head(p: Ports) -> RulesHead | None:
    c = _cache(p)
    if time.monotonic() - c.head_at > CACHE_SECONDS:
        head = repo.read_head(p.store)
        with _lock:
            c.head, c.head_at = head, time.monotonic()
    return c.head


def _load_version(p: Ports, version: int) -> RuleSetVersion:
    c = _cache(p)
    hit = c.versions.get(version)
    if hit is not None:
        return hit
    item = repo.get_version_item(p.store, version)
    if item is None:
        raise NotFound(f"There is no dispatch rule version {version}.", code="RULES_VERSION_NOT_FOUND")
    v = repo.version_from_item(item)
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
        assessment=v.assessment,
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


def in_effect_held(p: Ports, at: datetime) -> tuple[RuleSet | None, int | None]:
    """``in_effect`` and the HEAD version it came from, for ``moved`` to compare with a fresh read."""
    head = _cached_head(p)
    if head is None:
        return None, None
    return ruleset_in_effect([_ruleset(p, e.version) for e in head.schedule], at), head.version


def head_key() -> tuple[str, str]:
    """HEAD's key, for a consumer to read it in a batch it makes anyway."""
    return repo.rules_head_key()


def moved(p: Ports, known: Mapping[tuple[str, str], Item], head_version: int | None) -> bool:
    """Whether HEAD, as read in ``known``, is past ``head_version`` (published since this container
    cached it); if so the cache is dropped, so deciding again reads the new rules."""
    item = known.get(repo.rules_head_key())
    if (int(item["version"]) if item else None) == head_version:
        return False
    clear_cache(p)
    return True


def moved_since(p: Ports, head_version: int | None) -> bool:
    """``moved`` on a consistent read of HEAD alone (one round trip), for a decision that makes no batch read."""
    item = p.store.get(*repo.rules_head_key())
    return moved(p, {repo.rules_head_key(): item} if item else {}, head_version)


def scheduled_rulesets(p: Ports) -> list[RuleSet]:
    """The version in force at the last publish and every version scheduled after it."""
    head = _cached_head(p)
    return [_ruleset(p, e.version) for e in head.schedule] if head else []


def _status(v: int, effective_at: datetime, head: RulesHead | None, live: int | None, now: datetime) -> RuleStatus:
    if v == live:
        return "in_effect"
    if head is not None and effective_at > now and any(e.version == v for e in head.schedule):
        return "scheduled"
    return "superseded"


def get_version(p: Ports, version: int) -> RuleSetVersion:
    v = _load_version(p, version)
    now = p.now()
    head = repo.read_head(p.store)
    live = _live_version(p, head, now)
    return v.model_copy(update={"status": _status(v.version, v.effective_at, head, live, now)})


def _live_version(p: Ports, head: RulesHead | None, now: datetime) -> int | None:
    if head is None:
        return None
    rs = ruleset_in_effect([_ruleset(p, e.version) for e in head.schedule], now)
    return rs.version if rs else None


def overview(p: Ports, limit: int = 20, cursor: str | None = None) -> RulesOverview:
    """The set in force, what is scheduled, and the published versions newest first."""
    now = p.now()
    head = repo.read_head(p.store)
    live = _live_version(p, head, now)
    stored, next_cursor = repo.versions_page(p.store, limit, cursor)
    versions = [s.summary(_status(s.version, s.effective_at, head, live, now)) for s in stored]
    current = None
    if live is not None:
        current = _load_version(p, live).model_copy(update={"status": "in_effect"})
    scheduled = [e.version for e in head.schedule if e.effective_at > now] if head else []
    return RulesOverview(
        in_effect=current,
        head_version=head.version if head else 0,
        scheduled=sorted(scheduled),
        versions=versions,
        cursor=next_cursor,
    )


# ---------------------------------------------------------------- publishing


def parse_draft(draft: RulesDraft) -> list[RegionRule]:
    """parse_rules, with the refusal under a code of its own (details name region, service, actual sum)."""
    try:
        return parse_rules([r.model_dump(mode="json") for r in draft.rules])
    except InvalidInput as exc:
        raise InvalidInput(exc.message, code="DISPATCH_RULES_INVALID", details=exc.details) from None


def _effective_at(body: RulesPublish, now: datetime) -> datetime:
    """When the new version takes effect: now, or later; a few minutes in the past count as now."""
    effective_at = body.effective_at or now
    if effective_at < now - PAST_SLACK:
        raise InvalidInput(
            "A rule version cannot take effect in the past; leave effective_at out to apply it now.",
            code="EFFECTIVE_AT_IN_PAST",
            details=[{"field": "effective_at", "message": f"{effective_at.isoformat()} is before {now.isoformat()}"}],
        )
    return max(effective_at, now)


def _check_base(body: RulesPublish, current: int) -> None:
    if body.base_version is not None and body.base_version != current:
        raise Conflict(
            f"The draft was made from version {body.base_version}, but version {current} has been published "
            "since; review it and publish again.",
            code="RULES_CHANGED",
            details={"base_version": body.base_version, "head_version": current},
        )


def publish(
    p: Ports,
    who: Principal | str,
    body: RulesPublish,
    *,
    assessment: str | None = None,
    with_ops: Sequence[WriteOp] = (),
) -> RuleSetVersion:
    """Validate and publish a new version; it takes effect at ``effective_at`` (now by default).

    ``assessment`` names the quality assessment that shaped the shares (dispatch explanations
    show it); ``with_ops`` commit in the same transaction (the approval of a proposal).
    """
    rules = parse_draft(body)
    now = p.now()
    effective_at = _effective_at(body, now)
    head = repo.read_head(p.store)
    current = head.version if head else 0
    _check_base(body, current)
    version = current + 1
    RuleSet(  # the domain model checks the whole set once more (shares, duplicates, exclusives)
        version=version,
        effective_at=effective_at,
        rules=rules,
        deviation_threshold_pct=body.deviation_threshold_pct,
        daily_target=body.daily_target,
    )
    published = RuleSetVersion(
        version=version,
        effective_at=effective_at,
        rules=rules,
        deviation_threshold_pct=body.deviation_threshold_pct,
        daily_target=body.daily_target,
        published_at=now,
        published_by=audit.actor_name(who),
        note=body.note,
        status="in_effect" if effective_at <= now else "scheduled",
        assessment=assessment,
    )
    schedule = prune_schedule(
        [*(head.schedule if head else []), ScheduleEntry(version=version, effective_at=effective_at)], now
    )
    new_head = RulesHead(version=version, schedule=schedule)
    record = _audit_publish(p, who, published, head, now)
    try:
        p.store.transact([*repo.publish_ops(published, new_head, None if head is None else current), record, *with_ops])
    except StaleWrite:
        raise Conflict(
            "Another rule version was published at the same moment; reload and publish again.",
            code="RULES_CHANGED",
        ) from None
    clear_cache(p)
    return published


def _audit_publish(p: Ports, who: Principal | str, v: RuleSetVersion, head: RulesHead | None, now: datetime) -> Put:
    """The audit record of a publication, for the publication's own transaction."""
    current = head.version if head else 0
    previous = _load_version(p, current).rules if current else []
    return audit.entry(
        p,
        who,
        ENTITY,
        str(v.version),
        "published",
        before={"head_version": current, "in_effect": _live_version(p, head, now)},
        after={
            "version": v.version,
            "effective_at": v.effective_at.isoformat(),
            "deviation_threshold_pct": v.deviation_threshold_pct,
            "daily_target": v.daily_target,
            "rule_count": len(v.rules),
            "scopes": changed_scopes(previous, v.rules),
        },
        reason=v.note,
    )
