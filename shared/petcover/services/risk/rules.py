"""The rule set in force: read through a per-container cache, published by staff as a new version.

The underwrite, claim and booking paths read it on every call, so it is kept per container for
``recent.SECONDS`` (bounded staleness): a published version is enforced everywhere within that bound,
at once in the container that published it.
"""

from __future__ import annotations

from datetime import datetime

from petcover.domain.risk import RuleSet
from petcover.errors import Conflict, StaleWrite
from petcover.identity import Principal
from petcover.models.risk import RuleSetPublish, RuleSetView
from petcover.ports import Ports
from petcover.recent import Recent
from petcover.repositories import risk as repo
from petcover.services import audit

_published: Recent[RuleSet] = Recent()
KEY = "risk-rules"


def current(p: Ports) -> RuleSet:
    """The rule set in force, at most a few seconds old (version 0 with no rules: nothing published)."""
    return _published.get(p.store, KEY, lambda: repo.load_rules(p.store))


def view(p: Ports) -> RuleSetView:
    rules = repo.load_rules(p.store)
    meta = repo.rules_meta(p.store)
    at = meta.get("published_at")
    return RuleSetView(
        version=rules.version,
        rules=rules.rules,
        published_at=datetime.fromisoformat(at) if at else None,
        published_by=meta.get("published_by"),
        note=meta.get("note"),
    )


def publish(p: Ports, who: Principal, req: RuleSetPublish) -> RuleSetView:
    """A new version over the one in force (409 RULES_VERSION_CONFLICT when someone published first)."""
    in_force = repo.load_rules(p.store)
    if req.version != in_force.version + 1:
        raise Conflict(
            f"Version {req.version} cannot follow version {in_force.version}; reload and publish "
            f"version {in_force.version + 1}.",
            code="RULES_VERSION_CONFLICT",
            details={"version_in_force": in_force.version},
        )
    ids = [r.id for r in req.rules]
    if len(set(ids)) != len(ids):
        raise Conflict("Every rule needs its own id.", code="RULE_ID_REPEATED")
    new = RuleSet(version=req.version, rules=req.rules)
    meta = {"published_at": p.now().isoformat(), "published_by": audit.actor_name(who), "note": req.note}
    record = audit.entry(
        p,
        who,
        "risk_rules",
        str(new.version),
        "publish",
        before={"version": in_force.version, "rules": [r.id for r in in_force.rules]},
        after=new.model_dump(mode="json"),
        reason=req.note,
    )
    try:
        p.store.transact([*repo.publish_ops(new, meta), record])
    except StaleWrite:
        raise Conflict(
            f"Version {req.version} was published meanwhile; reload.", code="RULES_VERSION_CONFLICT"
        ) from None
    _published.forget(KEY)
    return view(p)
