"""The monthly quality assessment and its versioned rules.

The schedule runs on the 1st of each month (Asia/Shanghai) for the month before; a run may be
repeated for any month (``{"month": "YYYY-MM"}`` in the event). It reads the month's counters
with one Query (they were moved when the events happened), scores every provider with the rules
in force, and replaces the month's assessment items: a re-run never counts anything twice.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from petcover.domain import calendar
from petcover.domain.quality import assess
from petcover.errors import Conflict, InvalidInput, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.quality import (
    MonthAssessment,
    QualityRulesPut,
    QualityRulesVersion,
    SuspensionProposal,
)
from petcover.ports import Cond, Ports, Put
from petcover.repositories import quality as keys
from petcover.services import audit

ENTITY_RULES = "quality_rules"
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# ---------------------------------------------------------------- rules


def current_rules(p: Ports) -> QualityRulesVersion:
    """The rules in force (version 0: the built-in defaults, until ops save a version)."""
    return keys.load_rules(p.store.get(*keys.rules_head_key()))


def save_rules(p: Ports, who: Principal, body: QualityRulesPut) -> QualityRulesVersion:
    """A new rules version, conditional on the one the editor started from; audited."""
    head = p.store.get(*keys.rules_head_key())
    current = int(head["version"]) if head else 0
    if body.base_version is not None and body.base_version != current:
        raise Conflict(
            f"The rules were edited from version {body.base_version}, but version {current} is current now.",
            code="QUALITY_RULES_CHANGED",
            details={"base_version": body.base_version, "current_version": current},
        )
    saved = QualityRulesVersion(
        version=current + 1, rules=body.rules, saved_at=p.now(), saved_by=audit.actor_name(who), note=body.note
    )
    head_item, version_item = keys.rules_items(saved)
    expect: list[Cond] = [("version", "=", current)] if head else []
    try:
        p.store.transact(
            [
                Put(head_item, if_absent=head is None, expect=expect),
                Put(version_item, if_absent=True),
                audit.entry(
                    p,
                    who,
                    ENTITY_RULES,
                    str(saved.version),
                    "saved",
                    before=keys.load_rules(head).rules.model_dump(mode="json") if head else None,
                    after=body.rules.model_dump(mode="json"),
                    reason=body.note,
                ),
            ]
        )
    except StaleWrite:
        raise Conflict(
            "Another rules version was saved at the same moment; reload.", code="QUALITY_RULES_CHANGED"
        ) from None
    return saved


# ---------------------------------------------------------------- running


def _month(value: Any) -> str:
    if not isinstance(value, str) or not MONTH.match(value):
        raise InvalidInput(
            "The month must be YYYY-MM.",
            code="VALIDATION_FAILED",
            details=[{"field": "month", "message": "expected YYYY-MM"}],
        )
    return value


def run(p: Ports, month: str | None = None) -> MonthAssessment:
    """Assess every provider with counters in ``month`` (the previous business month by default)."""
    month = _month(month) if month is not None else calendar.previous_month(p.now())
    rules = current_rules(p)
    counters = keys.month_counters(p.store, month)
    results = [assess(c, rules.rules, rules.version) for c in sorted(counters.values(), key=lambda c: c.provider_id)]
    previous = p.store.get(*keys.run_key(month))
    prior = keys.load_run(previous) if previous else None
    summary = MonthAssessment(
        month=month,
        rules_version=rules.version,
        assessed_at=p.now(),
        runs=(prior.runs if prior else 0) + 1,
        providers=results,
        suspension_proposals=[
            SuspensionProposal(
                provider_id=a.provider_id,
                grade=a.grade or "",
                score=a.score,
                reason=f"grade {a.grade} (score {a.score}) in {month}: review whether to suspend the provider",
            )
            for a in results
            if a.propose_suspension
        ],
        proposal_id=prior.proposal_id if prior else None,
    )
    for a in results:  # each replaces the provider's earlier result for the month
        p.store.put(keys.assessment_item(a))
    p.store.put(keys.run_item(summary))
    return summary


def run_job(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    """The schedule's entry: the previous month, or ``detail.month`` / ``month`` when given."""
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    month = (detail or {}).get("month") or event.get("month")
    try:
        result = run(p, month)
    except ValidationError as exc:  # unreadable counters: say which month, never half a result
        raise InvalidInput(f"Counters of {month} could not be read: {exc.error_count()} error(s).") from None
    grades: dict[str, int] = {}
    for a in result.providers:
        grades[a.grade or "ungraded"] = grades.get(a.grade or "ungraded", 0) + 1
    return {"month": result.month, "providers": len(result.providers), "grades": grades, "runs": result.runs}


def read(p: Ports, month: str, provider_id: str | None = None) -> MonthAssessment:
    """The month's assessment (optionally one provider's), as last run."""
    item = p.store.get(*keys.run_key(_month(month)))
    if item is None:
        raise NotFound(f"Month {month} has not been assessed yet.", code="ASSESSMENT_NOT_FOUND")
    summary = keys.load_run(item)
    providers = [a for a in keys.assessments(p.store, month) if provider_id in (None, a.provider_id)]
    if provider_id is not None and not providers:
        raise NotFound(f"Provider {provider_id} has no assessment for {month}.", code="ASSESSMENT_NOT_FOUND")
    return summary.model_copy(update={"providers": providers})
