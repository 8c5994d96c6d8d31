"""A product's insurer channels: its routing rules (versioned, audited), insurer health, the
decision for one order (``domain.insurer_routing``) and the monthly counters it reads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from petcover.domain import calendar
from petcover.domain.insurer_routing import INHOUSE, RoutingDecision, RoutingRules, choose, inhouse_default
from petcover.errors import BusinessRuleViolation, Conflict, StaleWrite
from petcover.identity import Principal
from petcover.models.insurers import InsurerState, RoutingSaved, RoutingView
from petcover.ports import Cond, Ports, Put
from petcover.recent import Recent
from petcover.repositories import insurers as repo
from petcover.repositories import partners as partner_repo
from petcover.services import audit, catalog

# The circuit of an insurer opens after this many calls in a row without an answer, for this long.
CIRCUIT_FAILURES = 3
CIRCUIT_OPEN_SECONDS = 60
ENTITY = "product_routing"
_in_force: Recent[tuple[int, RoutingRules] | None] = Recent()


def month_of(now: datetime) -> str:
    return calendar.today(now).strftime("%Y-%m")


def _check_insurer(p: Ports, insurer_id: str) -> None:
    if insurer_id == INHOUSE:
        return
    item = p.store.get(*partner_repo.partner(insurer_id))
    acc = partner_repo.load_account(item) if item is not None else None
    if acc is None or acc.kind != "insurer":
        raise BusinessRuleViolation(f"{insurer_id} is not an insurer partner.", code="INSURER_NOT_FOUND")
    if acc.status == "closed":
        raise BusinessRuleViolation(f"Insurer {insurer_id} is closed.", code="INSURER_CLOSED")
    if p.store.get(*repo.endpoint_key(insurer_id)) is None:
        raise BusinessRuleViolation(
            f"Insurer {insurer_id} has no API endpoint yet: set it first.", code="INSURER_NOT_CONFIGURED"
        )


def current(p: Ports, product_code: str, *, cached: bool = False) -> tuple[int, RoutingRules] | None:
    """The rules in force; ``cached``: as this container read them at most a few seconds ago (every
    underwrite reads them, and they change rarely: ``petcover.recent``)."""
    if cached:
        return _in_force.get(p.store, product_code, lambda: current(p, product_code))
    item = p.store.get(*repo.routing_head(product_code), consistent=False)
    if item is None:
        return None
    version, rules, _ = repo.routing_from_item(item)
    return version, rules


def save_rules(p: Ports, who: Principal, product_code: str, rules: RoutingRules) -> RoutingSaved:
    """A new version of the product's routing rules; every insurer named must be able to take orders."""
    catalog.get_product(p, product_code)
    for r in rules.routes:
        _check_insurer(p, r.insurer_id)
    head = p.store.get(*repo.routing_head(product_code))
    version = int(head["version"]) + 1 if head else 1
    now = p.now()
    by = audit.actor_name(who)
    head_item, version_item = repo.routing_items(product_code, version, rules, now, by)
    before = json.loads(head["data"])["rules"] if head else None
    guard: list[Cond] = [("version", "=", version - 1)] if head else []
    try:
        p.store.transact(
            [
                Put(head_item, if_absent=head is None, expect=guard),
                Put(version_item, if_absent=True),
                audit.entry(
                    p, who, ENTITY, product_code, "routing_saved", before=before, after=rules.model_dump(mode="json")
                ),
            ]
        )
    except StaleWrite:
        raise Conflict("The routing rules changed meanwhile; reload and retry.", code="ROUTING_CHANGED") from None
    _in_force.forget(product_code)
    return RoutingSaved(product_code=product_code, version=version, rules=rules, updated_at=now, updated_by=by)


def health(p: Ports, insurer_id: str) -> InsurerState:
    if insurer_id == INHOUSE:
        return InsurerState(insurer_id=insurer_id, healthy=True)
    failures, open_until = repo.health_of(p.store.get(*repo.health_key(insurer_id), consistent=False))
    now = p.now().timestamp()
    return InsurerState(
        insurer_id=insurer_id,
        healthy=open_until <= now,
        failures=failures,
        open_until=datetime.fromtimestamp(open_until, p.now().tzinfo) if open_until > now else None,
    )


def record_call(p: Ports, insurer_id: str, *, reached: bool) -> None:
    """An answer closes the circuit; ``CIRCUIT_FAILURES`` calls in a row without one open it."""
    if reached:
        failures, open_until = repo.health_of(p.store.get(*repo.health_key(insurer_id), consistent=False))
        if failures or open_until:
            repo.health_set(p.store, insurer_id, failures=0, open_until=0)
        return
    if repo.health_failed(p.store, insurer_id) >= CIRCUIT_FAILURES:
        until = (p.now() + timedelta(seconds=CIRCUIT_OPEN_SECONDS)).timestamp()
        repo.health_set(p.store, insurer_id, failures=0, open_until=until)


def route(p: Ports, channel_id: str, product_code: str) -> RoutingDecision:
    """The insurer for one order (in-house without rules); ``counted`` adds it to the month's shares."""
    found = current(p, product_code, cached=True)
    if found is None:
        return inhouse_default()
    version, rules = found
    month = month_of(p.now())
    counts = repo.month_counts(p.store, product_code, month)
    healthy = {r.insurer_id: health(p, r.insurer_id).healthy for r in rules.routes}
    return choose(rules, channel_id, counts, healthy, rules_version=version)


def counted(p: Ports, product_code: str, decision: RoutingDecision) -> None:
    """An order the chosen insurer got (after the underwriting rules accepted it)."""
    if decision.reason != "inhouse_default":
        repo.count_routed(p.store, product_code, month_of(p.now()), decision.insurer_id)


def view(p: Ports, product_code: str) -> RoutingView:
    catalog.get_product(p, product_code)
    month = month_of(p.now())
    found = current(p, product_code)
    if found is None:
        return RoutingView(product_code=product_code, month=month)
    version, rules = found
    counts = repo.month_counts(p.store, product_code, month)
    states = [health(p, r.insurer_id) for r in rules.routes]
    preview = choose(rules, "", counts, {s.insurer_id: s.healthy for s in states}, rules_version=version)
    return RoutingView(
        product_code=product_code,
        version=version,
        rules=rules,
        month=month,
        candidates=preview.candidates,
        health=states,
    )
