"""Pure rules of claims: which benefit a claim is for, and the return-shipping rules automatic
claims are decided by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from petcover.domain import calendar
from petcover.domain.catalog import Benefit, Plan
from petcover.errors import BusinessRuleViolation, InvalidInput, NotFound

CLAIM_WINDOW_DAYS = 30
# Product kinds whose claims the job decides by rule, and the benefit they claim.
AUTO_BENEFITS = {"return_shipping": "return-freight"}
RULESET = "return_shipping.v1"

Outcome = Literal["approve", "reject", "hold"]


def claimed_benefit(plan: Plan, code: str | None, product_kind: str) -> Benefit:
    """The reimbursement benefit claimed: the one named, the product kind's, or the plan's only one."""
    if code is None:
        code = AUTO_BENEFITS.get(product_kind)
    if code is None:
        claimable = [b for b in plan.benefits if b.kind == "reimbursement"]
        if len(claimable) != 1:
            raise InvalidInput(
                f"Name the benefit claimed: one of {', '.join(b.code for b in claimable) or 'none'}.",
                code="BENEFIT_REQUIRED",
                details=[{"field": "benefit_code", "message": "required for this plan"}],
            )
        return claimable[0]
    try:
        benefit = plan.benefit(code)
    except NotFound:
        raise BusinessRuleViolation(
            f"Benefit {code} is not part of plan {plan.code}.", code="BENEFIT_NOT_IN_PLAN"
        ) from None
    if benefit.kind != "reimbursement":
        raise BusinessRuleViolation(
            f"Benefit {code} is a service: book it instead of claiming it.", code="BENEFIT_NOT_CLAIMABLE"
        )
    return benefit


def is_auto(product_kind: str, benefit_code: str) -> bool:
    """Decided and paid by rule, without an assessor."""
    return product_kind in AUTO_BENEFITS and benefit_code == AUTO_BENEFITS[product_kind]


@dataclass(frozen=True)
class Rule:
    name: str
    ok: bool
    final: bool  # a failure no update can cure
    message: str


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    rule: str
    passed: list[str]
    failed: list[str]
    note: str | None = None


@dataclass(frozen=True)
class AutoClaimFacts:
    """What the return-shipping rules look at: the claim, its policy, and the benefit's limit."""

    incident_date: date
    submitted_on: date
    amount: Decimal
    tracking_number: str | None
    policy_status: str
    start: date
    end: date
    limit: Decimal | None
    remaining: Decimal


def return_shipping_rules(f: AutoClaimFacts) -> list[Rule]:
    days = (f.submitted_on - f.incident_date).days
    tracking = f.tracking_number
    return [
        Rule("policy_active", f.policy_status == "active", True, f"The policy is {f.policy_status}."),
        Rule(
            "incident_in_term",
            calendar.covers_day(f.start, f.end, f.incident_date),
            True,
            f"The incident on {f.incident_date} is outside the policy term {f.start} to {f.end}.",
        ),
        Rule(
            "claimed_within_30_days",
            0 <= days <= CLAIM_WINDOW_DAYS,
            True,
            f"The claim was made {days} days after the incident; the limit is {CLAIM_WINDOW_DAYS}.",
        ),
        Rule(
            "amount_within_benefit_limit",
            f.limit is None or f.amount <= f.limit,
            False,
            f"The amount {f.amount} is above the benefit limit {f.limit}; correct the amount.",
        ),
        Rule(
            "amount_within_remaining_sum",
            f.amount <= f.remaining,
            f.remaining <= 0,
            f"The amount {f.amount} is above the remaining sum insured {f.remaining}.",
        ),
        Rule(
            "tracking_number_present",
            bool(tracking and tracking.strip()),
            False,
            "A return tracking number is needed; update the claim with it.",
        ),
    ]


def evaluate_return_shipping(f: AutoClaimFacts) -> Verdict:
    """A final failure rejects; any other failure holds the claim in assessing, in the staff queue
    with the failed rules as the reason, until an assessor decides or the channel corrects it; all
    passed approves."""
    rules = return_shipping_rules(f)
    passed = [r.name for r in rules if r.ok]
    failed = [r for r in rules if not r.ok]
    final = [r for r in failed if r.final]
    names = [r.name for r in failed]
    if final:
        return Verdict("reject", final[0].name, passed, names, final[0].message)
    if failed:
        return Verdict("hold", failed[0].name, passed, names, " ".join(r.message for r in failed))
    return Verdict("approve", "all_rules_passed", passed, [])
