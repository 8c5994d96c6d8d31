"""Risk rules: what a published rule set decides about one underwrite, claim or booking.

Pure functions over a ``RuleSet`` (versioned, published by staff) and the ``RiskFacts`` of one
operation. Four kinds of rule:

- ``blocklist``: the holder, the insured, the device or the address is on a list;
- ``velocity``: a counter would go over its limit with this operation (claims per insured in
  30 days, policies per holder in a business day), or a history count is reached (policies
  cancelled for a refund after a claim);
- ``amount``: the amount at stake (premium, claimed amount, value of a booking's items) is above
  a threshold;
- ``rate_factor``: the insured matches a condition and the premium is multiplied by a factor (a
  line in the quote's breakdown).

A rule ``refuse``s or sends to ``review`` (a person decides). A rule in ``shadow`` mode is
evaluated and recorded but never changes the outcome or the price: that is how a rule is tried
before it is switched on. The decision lists every rule that fired, enforced or not.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from petcover.domain.money import DecimalRules
from petcover.models.base import Model

Stage = Literal["underwrite", "claim", "booking"]
RuleKind = Literal["blocklist", "velocity", "amount", "rate_factor"]
Action = Literal["refuse", "review"]
Mode = Literal["enforce", "shadow"]
Outcome = Literal["pass", "review", "refuse"]
BlockField = Literal["holder", "insured", "device", "address"]
Counter = Literal["claims_per_insured_30d", "policies_per_holder_day", "refunds_after_claim"]
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]

# Counters this operation itself adds to (the claim, the policy): a limit of 3 lets 3 through.
COUNTED: dict[Counter, Stage] = {"claims_per_insured_30d": "claim", "policies_per_holder_day": "underwrite"}
ONE = Decimal(1)
SEVERITY: dict[Outcome, int] = {"pass": 0, "review": 1, "refuse": 2}


def normalise(value: str | None) -> str | None:
    """How list entries and facts are compared: trimmed, case and inner spaces ignored."""
    if value is None:
        return None
    text = "".join(value.split()).lower()
    return text or None


class RateCondition(Model):
    """When a rate factor applies: every given condition must hold (none given: always)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region_prefix: Annotated[str, StringConstraints(pattern=r"^\d{1,6}$")] | None = None
    species: str | None = None
    min_age_months: Annotated[int, Field(ge=0, le=480)] | None = None


class RiskRule(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RuleId
    kind: RuleKind
    stages: Annotated[list[Stage], Field(min_length=1)]
    action: Action = "refuse"
    mode: Mode = Field("enforce", description="shadow: evaluated and recorded, never enforced.")
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    field: BlockField | None = Field(None, description="blocklist: which fact is looked up.")
    values: Annotated[list[Annotated[str, StringConstraints(max_length=200)]], Field(max_length=1000)] = Field(
        default_factory=list, description="blocklist: the listed values (compared trimmed, ignoring case and spaces)."
    )
    counter: Counter | None = Field(None, description="velocity: which counter.")
    limit: Annotated[int, Field(ge=0, le=100_000)] | None = Field(
        None, description="velocity: how many are allowed (including this operation for counted ones)."
    )
    above: Annotated[Decimal, DecimalRules(2, max_digits=14, low="ge0")] | None = Field(
        None, description="amount: fires when the amount at stake is above this."
    )
    factor: Annotated[Decimal, DecimalRules(4, max_digits=6, low="gt0", high=10)] | None = Field(
        None, description="rate_factor: the premium multiplier."
    )
    when: RateCondition | None = Field(None, description="rate_factor: when it applies.")

    @model_validator(mode="after")
    def _complete(self) -> RiskRule:
        """Each kind names what it needs: blocklist a field and values, velocity a counter and a limit,
        amount a threshold, rate_factor a factor (underwrite only)."""
        missing = {
            "blocklist": self.field is None or not self.values,
            "velocity": self.counter is None or self.limit is None,
            "amount": self.above is None,
            "rate_factor": self.factor is None or self.stages != ["underwrite"],
        }[self.kind]
        if missing:
            raise ValueError(f"rule {self.id}: a {self.kind} rule is incomplete")
        return self


class RuleSet(Model):
    model_config = ConfigDict(frozen=True)

    version: int = 0
    rules: list[RiskRule] = Field(default_factory=list)

    def for_stage(self, stage: Stage) -> list[RiskRule]:
        return [r for r in self.rules if stage in r.stages]


class RiskFacts(Model):
    """What a rule may look at, for one operation. ``counts``: each counter as it stands before it."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    holder: str | None = None
    insured: str | None = None
    device: str | None = None
    address: str | None = None
    amount: Decimal | None = None
    region: str | None = None
    species: str | None = None
    age_months: int | None = None
    counts: dict[Counter, int] = Field(default_factory=dict)


class FiredRule(Model):
    model_config = ConfigDict(frozen=True)

    rule: str
    kind: RuleKind
    action: Action | Literal["rate"]
    shadow: bool = False
    detail: str


class RiskDecision(Model):
    """The outcome of one check, the rules that fired (enforced or shadow) and the rate factor."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome = "pass"
    ruleset_version: int = 0
    fired: list[FiredRule] = Field(default_factory=list)
    factor: Decimal = ONE
    counted: dict[str, int | None] = Field(
        default_factory=dict, description="The counters the operation added to ({counter}#{subject}) and their limit."
    )

    @property
    def enforced(self) -> list[FiredRule]:
        return [f for f in self.fired if not f.shadow]

    def rule_ids(self, action: str) -> list[str]:
        return [f.rule for f in self.enforced if f.action == action]

    def reason(self) -> str:
        hits = [f for f in self.enforced if f.action == self.outcome]
        return "; ".join(f"{f.rule}: {f.detail}" for f in hits)


def _fact(facts: RiskFacts, name: BlockField) -> str | None:
    return {"holder": facts.holder, "insured": facts.insured, "device": facts.device, "address": facts.address}[name]


def _blocklist(rule: RiskRule, facts: RiskFacts) -> str | None:
    assert rule.field is not None
    value = normalise(_fact(facts, rule.field))
    listed = {normalise(v) for v in rule.values}
    return f"the {rule.field} is on the list" if value is not None and value in listed else None


def _velocity(rule: RiskRule, facts: RiskFacts) -> str | None:
    assert rule.counter is not None and rule.limit is not None
    now = facts.counts.get(rule.counter, 0)
    if COUNTED.get(rule.counter) == facts.stage:
        return f"{rule.counter} would be {now + 1}, above {rule.limit}" if now + 1 > rule.limit else None
    return f"{rule.counter} is {now}, at least {rule.limit}" if rule.limit and now >= rule.limit else None


def _amount(rule: RiskRule, facts: RiskFacts) -> str | None:
    assert rule.above is not None
    if facts.amount is None or facts.amount <= rule.above:
        return None
    return f"amount {facts.amount} is above {rule.above}"


def _rate(rule: RiskRule, facts: RiskFacts) -> str | None:
    c = rule.when or RateCondition()
    if c.region_prefix is not None and not (facts.region or "").startswith(c.region_prefix):
        return None
    if c.species is not None and facts.species != c.species:
        return None
    if c.min_age_months is not None and (facts.age_months is None or facts.age_months < c.min_age_months):
        return None
    return f"premium x {rule.factor}"


CHECKS = {"blocklist": _blocklist, "velocity": _velocity, "amount": _amount, "rate_factor": _rate}


def evaluate(rules: RuleSet, facts: RiskFacts) -> RiskDecision:
    """Every rule of the stage, in order; the most severe enforced action is the outcome."""
    fired: list[FiredRule] = []
    outcome: Outcome = "pass"
    factor = ONE
    for rule in rules.for_stage(facts.stage):
        detail = CHECKS[rule.kind](rule, facts)
        if detail is None:
            continue
        shadow = rule.mode == "shadow"
        action: Action | Literal["rate"] = "rate" if rule.kind == "rate_factor" else rule.action
        fired.append(FiredRule(rule=rule.id, kind=rule.kind, action=action, shadow=shadow, detail=detail))
        if shadow:
            continue
        if action == "rate":
            assert rule.factor is not None
            factor *= rule.factor
        elif SEVERITY[action] > SEVERITY[outcome]:
            outcome = action
    return RiskDecision(outcome=outcome, ruleset_version=rules.version, fired=fired, factor=factor)


def price_factor(rules: RuleSet, facts: RiskFacts) -> RiskDecision:
    """Only the rate factors (a quote: nothing is refused at a quote, the price is what it will be)."""
    priced = RuleSet(version=rules.version, rules=[r for r in rules.rules if r.kind == "rate_factor"])
    return evaluate(priced, facts)


def counter_limits(rules: RuleSet, stage: Stage) -> dict[Counter, int]:
    """Counters this stage adds to that an enforced refusing rule limits: the transaction adds to
    each only while it is below the (lowest) limit, so concurrent operations pass exactly the limit."""
    limits: dict[Counter, int] = {}
    for r in rules.for_stage(stage):
        enforced = r.kind == "velocity" and r.mode == "enforce" and r.action == "refuse"
        if enforced and r.counter is not None and r.limit is not None and COUNTED.get(r.counter) == stage:
            limits[r.counter] = min(r.limit, limits.get(r.counter, r.limit))
    return limits


def counters_used(rules: RuleSet, stage: Stage) -> set[Counter]:
    """Counters a rule of this stage reads (enforced or shadow)."""
    return {r.counter for r in rules.for_stage(stage) if r.kind == "velocity" and r.counter is not None}
