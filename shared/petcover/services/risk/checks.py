"""The risk check of one underwrite, claim or booking: facts, decision, and the writes it adds.

Each path asks for a decision before its transaction and adds ``ops(...)`` to it: the velocity
counters this operation counts (an ``ADD`` conditional on the limit when a refusing rule limits
it, so concurrent operations pass exactly the limit) and the audit record of the decision. A
refusal is recorded in the audit on its own and raised as 422 ``RISK_REFUSED``; the channel is
told no more than that (the rules that fired are for staff, in the audit).

With nothing published (version 0) a check costs nothing: no read, no write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import NoReturn

from petcover.config import get_settings
from petcover.domain import calendar, i18n, risk
from petcover.domain.catalog import InsuredFacts
from petcover.domain.risk import Counter, RiskDecision, RiskFacts, RuleSet, Stage
from petcover.errors import BusinessRuleViolation, StaleWrite
from petcover.models.policies import Holder, Policy
from petcover.ports import Ports, WriteOp
from petcover.repositories import risk as repo
from petcover.services import audit
from petcover.services.risk import rules as rule_sets

ACTOR = "system:risk"
CLAIM_WINDOW_DAYS = 30


def holder_of(holder: Holder) -> str:
    """The holder as the rules know them: the phone when given, else the name."""
    return holder.phone or holder.name


def _subject(stage: Stage, counter: Counter, facts: RiskFacts) -> str | None:
    return repo.subject(facts.holder if counter == "policies_per_holder_day" else facts.insured)


def _counts(p: Ports, rules: RuleSet, facts: RiskFacts, today: date) -> dict[Counter, int]:
    counts: dict[Counter, int] = {}
    for counter in sorted(risk.counters_used(rules, facts.stage)):
        key = _subject(facts.stage, counter, facts)
        if key is None:
            continue
        if counter == "policies_per_holder_day":
            counts[counter] = repo.day_count(p.store, counter, key, today)
        elif counter == "claims_per_insured_30d":
            counts[counter] = repo.window_count(p.store, counter, key, today, CLAIM_WINDOW_DAYS)
        else:
            counts[counter] = repo.total_count(p.store, counter, key)
    return counts


def assess(p: Ports, facts: RiskFacts) -> tuple[RiskDecision, RuleSet]:
    """The decision for these facts under the rule set in force (counters read as they stand)."""
    rules = rule_sets.current(p)
    if not rules.for_stage(facts.stage):
        return RiskDecision(ruleset_version=rules.version), rules
    facts = facts.model_copy(update={"counts": _counts(p, rules, facts, calendar.today(p.now()))})
    return risk.evaluate(rules, facts), rules


def refuse(p: Ports, facts: RiskFacts, entity: str, entity_id: str, decision: RiskDecision) -> NoReturn:
    """Record the refusal (which rules fired, on which facts) and answer 422 RISK_REFUSED."""
    record = audit.entry(
        p,
        ACTOR,
        entity,
        entity_id,
        "risk_refuse",
        after={"decision": decision.model_dump(mode="json"), "stage": facts.stage},
        reason=decision.reason(),
    )
    p.store.transact([record])
    lang = get_settings().language
    what = i18n.text(f"risk.what.{facts.stage}", lang)
    raise BusinessRuleViolation(
        i18n.text("risk.refused", lang, what=what, ref=entity_id),
        code="RISK_REFUSED",
        details={"ruleset_version": decision.ruleset_version},
    )


def check(p: Ports, facts: RiskFacts, entity: str, entity_id: str) -> RiskDecision | None:
    """The decision (None: no rule for this stage), or RISK_REFUSED."""
    decision, rules = assess(p, facts)
    if not rules.for_stage(facts.stage):
        return None
    if decision.outcome == "refuse":
        refuse(p, facts, entity, entity_id, decision)
    counted = {
        c: risk.counter_limits(rules, facts.stage).get(c)
        for c in risk.counters_used(rules, facts.stage)
        if risk.COUNTED.get(c) == facts.stage
    }
    keys = {c: _subject(facts.stage, c, facts) for c in counted}
    limits = {f"{c}#{keys[c]}": n for c, n in counted.items() if keys[c] is not None}
    return decision.model_copy(update={"counted": limits})


def ops(p: Ports, decision: RiskDecision | None, entity: str, entity_id: str, stage: Stage) -> list[WriteOp]:
    """The counters and the audit record of a decision, for the transaction of the operation."""
    if decision is None:
        return []
    today = calendar.today(p.now())
    writes: list[WriteOp] = []
    for name, limit in sorted(decision.counted.items()):
        counter, key = name.split("#", 1)
        day = None if counter == "refunds_after_claim" else today
        writes.append(repo.count_op(counter, key, day, limit))  # type: ignore[arg-type]
    after = {"decision": decision.model_dump(mode="json"), "stage": stage}
    writes.append(audit.entry(p, ACTOR, entity, entity_id, f"risk_{decision.outcome}", after=after))
    return writes


@contextmanager
def counted(
    p: Ports,
    facts: RiskFacts,
    decision: RiskDecision | None,
    entity: str,
    entity_id: str,
    written: Callable[[], bool] = lambda: False,
) -> Iterator[None]:
    """Around the operation's transaction: refused because a limited counter was full (a concurrent
    operation took the last place) is RISK_REFUSED; any other refusal goes on as it was, and so
    does one raised after the operation was written (``written()``)."""
    try:
        yield
    except StaleWrite:
        if decision is None or not any(limit is not None for limit in decision.counted.values()):
            raise
        if written():
            raise
        again, _ = assess(p, facts)
        if again.outcome != "refuse":
            raise
        refuse(p, facts, entity, entity_id, again)


# ------------------------------------------------------------------ facts of each path
def rate(p: Ports, insured: InsuredFacts) -> tuple[Decimal, list[str]] | None:
    """The enforced risk rate factors for this insured and the rules behind them (None: none apply)."""
    rules = rule_sets.current(p)
    if not any(r.kind == "rate_factor" for r in rules.rules):
        return None
    decision = risk.price_factor(rules, policy_facts("underwrite", None, insured, None, None))
    ids = decision.rule_ids("rate")
    return (decision.factor, ids) if ids else None


def policy_facts(
    stage: Stage, holder: Holder | None, insured: InsuredFacts, device: str | None, amount: Decimal | None
) -> RiskFacts:
    """The facts of an application or of a claim or booking on a policy."""
    return RiskFacts(
        stage=stage,
        holder=holder_of(holder) if holder else None,
        insured=insured.insured_id,
        device=device,
        address=holder.address if holder else None,
        amount=amount,
        region=insured.region,
        species=insured.species,
        age_months=insured.age_months,
    )


def reads_refunds(p: Ports) -> bool:
    """True when a rule in force reads the refunds-after-claim history (a cancellation then counts)."""
    return any(r.counter == "refunds_after_claim" for r in rule_sets.current(p).rules)


def refund_after_claim_ops(policy: Policy, had_claims: bool) -> list[WriteOp]:
    """A cancellation with a refund on a policy that had a claim: one more in the insured's history."""
    key = repo.subject(policy.insured.insured_id)
    if not had_claims or key is None:
        return []
    return [repo.count_op("refunds_after_claim", key, None, None)]
