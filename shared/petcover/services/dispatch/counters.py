"""Daily dispatch counters per region+service type: reading, counting, the midnight run, the ops view.

A provider's counter moves by a conditional ADD (``n < daily_capacity``, absent counting as 0, so
it is created lazily on first use); the midnight schedule creates the day's counters at 0
beforehand. The scope total also counts the orders that went to the operations queue; it is
spread over shard items (``repositories.dispatch.TOTAL_SHARDS``) that the same Query reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from petcover.domain import calendar
from petcover.domain.dispatch import Candidate, RegionRule, counter_scope, scope_of
from petcover.errors import StaleWrite
from petcover.models.dispatch import CounterView, ProviderCount
from petcover.ports import Item, Ports
from petcover.repositories import dispatch as repo
from petcover.services.dispatch import rules

INIT_WORKERS = 8


def business_date(p: Ports, at: datetime | None = None) -> str:
    """The business day counters belong to."""
    return calendar.day_of(at or p.now()).isoformat()


def read_counts(p: Ports, day: str, scope: str) -> tuple[dict[str, int], int]:
    """The day's per-provider counts and the scope total: one Query."""
    return repo.read_counts(p.store, day, scope)


def count_keys(day: str, scope: str, provider_ids: Iterable[str]) -> list[tuple[str, str]]:
    """The counters of the given providers, to read in a batch with other items (``counts_in``)."""
    return [repo.counter_key(day, scope, pid) for pid in provider_ids]


def counts_in(
    known: Mapping[tuple[str, str], Item], day: str, scope: str, provider_ids: Iterable[str]
) -> dict[str, int]:
    """The providers' counts from a batch read of ``count_keys``; a counter not created yet counts 0."""
    counts: dict[str, int] = {}
    for pid in provider_ids:
        item = known.get(repo.counter_key(day, scope, pid))
        if item is not None:
            counts[pid] = int(item.get("n") or 0)
    return counts


def count(p: Ports, day: str, scope: str, provider_id: str, capacity: int | None, by: int = 1) -> int:
    """ADD to a provider's counter; with a capacity, only while it is below it (StaleWrite if not)."""
    return repo.add_to_counter(p.store, repo.counter_key(day, scope, provider_id), p.now(), by=by, below=capacity)


def count_total(p: Ports, day: str, scope: str) -> None:
    repo.add_to_counter(p.store, repo.total_key(day, scope), p.now())


def init_counters(p: Ports) -> dict[str, Any]:
    """Midnight: today's counter items at 0 for every scope of the rules in force today (put if absent)."""
    now = p.now()
    today = calendar.today(now)
    day = today.isoformat()
    day_end = calendar.end_of(today)
    keys: set[tuple[str, str]] = set()
    scopes: set[str] = set()
    for rs in rules.scheduled_rulesets(p):
        if rs.effective_at >= day_end:
            continue  # takes effect after today: tomorrow's run (or first use) creates its counters
        for rule in rs.rules:
            scope = counter_scope(rule)
            scopes.add(scope)
            keys.add(repo.total_key(day, scope, shard=0))  # the other shards appear on first use
            keys.update(repo.counter_key(day, scope, s.provider_id) for s in rule.providers)
    created_at = p.now()

    def put(key: tuple[str, str]) -> bool:
        try:
            p.store.put(repo.zero_counter_item(key, created_at), if_absent=True)
            return True
        except StaleWrite:
            return False  # already there (first use came first, or a second run)

    with ThreadPoolExecutor(max_workers=INIT_WORKERS) as pool:
        created = sum(pool.map(put, sorted(keys)))
    return {"date": day, "scopes": len(scopes), "counters": len(keys), "created": created}


def counters(p: Ports, region_code: str, service_type: str, day: str | None = None) -> CounterView:
    """Today's (or ``day``'s) counts for one region+service type, with the shares in force now."""
    day = day or business_date(p)
    scope = scope_of(region_code, service_type)
    counts, total = read_counts(p, day, scope)
    rs = rules.in_effect(p)
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


def shares_now(p: Ports, rule: RegionRule | None, day: str, scope: str | None) -> list[Candidate]:
    """The rule's providers with their target and today's actual shares, for a decision made by hand."""
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
