"""Real-time money checks: run on the money events staff start, they refuse and alert ops at once.

- a refund is never above the premium received on the policy (less what was already refunded);
- a payout (or payout correction) is never above the policy's remaining sum insured;
- a settlement's receipt or payment is never other than what its statement says is due.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from petcover.errors import BusinessRuleViolation
from petcover.observability import count
from petcover.ports import Ports
from petcover.repositories import ledger as ledger_repo
from petcover.services import alerts

PREMIUM_EVENTS = ("issue", "renew", "endorse")
REFUND_EVENTS = ("refund", "manual_refund")


def alert(p: Ports, kind: str, detail: str) -> None:
    count("MoneyCheckFailed")
    alerts.raise_alert(
        p,
        target=None,
        title="资金实时校验失败 / money check failed",
        text=f"资金实时校验失败（{kind}）：{detail}\nMoney check failed ({kind}): {detail}",
    )


def premium_left(p: Ports, policy_number: str) -> Decimal:
    """Premium received on the policy less every refund of it, from its journals."""
    entries = ledger_repo.entries_of_policy(p.store, policy_number)
    reversed_ids = {e.reverses for e in entries if e.reverses}
    kept = [e for e in entries if e.id not in reversed_ids and e.event in (*PREMIUM_EVENTS, *REFUND_EVENTS)]
    return sum((e.amount for e in kept), Decimal(0))


def refund_within(policy_number: str, amount: Decimal, premium: Decimal, alert_fn: Callable[[str, str], None]) -> None:
    """A cancellation's refund against the policy's premium (no read: both are at hand)."""
    if amount > premium:
        alert_fn("refund_above_premium", f"{policy_number}: refund {amount} > premium {premium}")
        raise BusinessRuleViolation(
            f"A refund of {amount} is above the premium {premium} of {policy_number}.", code="REFUND_ABOVE_PREMIUM"
        )


def refund_within_premium(p: Ports, policy_number: str, amount: Decimal) -> None:
    left = premium_left(p, policy_number)
    if amount > left:
        alert(p, "refund_above_premium", f"{policy_number}: refund {amount} > premium left {left}")
        raise BusinessRuleViolation(
            f"A refund of {amount} is above the {left} of premium left on {policy_number}.",
            code="REFUND_ABOVE_PREMIUM",
            details={"premium_left": str(left)},
        )


def payout_within_sum_insured(p: Ports, policy_number: str, amount: Decimal, remaining: Decimal) -> None:
    if amount > remaining:
        alert(p, "payout_above_sum_insured", f"{policy_number}: payout {amount} > remaining {remaining}")
        raise BusinessRuleViolation(
            f"A payout of {amount} is above the {remaining} of sum insured left.",
            code="SUM_INSURED_EXCEEDED",
            details={"remaining": str(remaining)},
        )
