"""Who may serve an order by scope and binding: one composable candidate filter for dispatch.

Pure. ``scope_filter`` takes the rule's providers still in the running and returns the ones it
leaves out, each with the rule that did it and why; the caller removes them from the candidates
before ``dispatch.decide`` (other filters compose the same way: each narrows the set and explains).

Rules, in order:

- ``insurer_binding``: when the product's insurer has bound providers, only those may serve it.
- ``national_scope``: a national order goes only to national-scope providers.
- local orders, as the rule's ``local_orders`` says: ``by_share`` (the default) keeps national
  providers at their shares (regional ones are still preferred in the weighted draw);
  ``regional_first`` sends them to the rule's regional providers while any can take one and falls
  back to national ones (``local_preference``); ``regional_only`` never falls back: with no regional
  provider able to take it the order waits for ops (``local_fallback``).
"""

from __future__ import annotations

from collections.abc import Collection

from pydantic import ConfigDict

from petcover.domain.dispatch import OrderFacts, RegionRule
from petcover.models.base import Model

FILTER_RULES = ("insurer_binding", "national_scope", "local_preference", "local_fallback")


class Exclusion(Model):
    model_config = ConfigDict(frozen=True)

    rule: str
    reason: str


def scope_filter(
    rule: RegionRule,
    order: OrderFacts,
    available: Collection[str],
    *,
    bound: Collection[str] | None = None,
    insurer_id: str | None = None,
) -> dict[str, Exclusion]:
    """provider_id -> why scope or binding leaves it out of this order.

    available: the rule's providers that could take the order otherwise (active, fitting, not
    declined, with capacity left); the local preference only counts regional providers among them.
    bound: provider ids the insurer binds for this service and region; None when it binds none.
    """
    out: dict[str, Exclusion] = {}
    for p in rule.providers:
        if bound is not None and p.provider_id not in bound:
            out[p.provider_id] = Exclusion(
                rule="insurer_binding",
                reason=f"not bound by the product's insurer {insurer_id or ''}".rstrip()
                + f" for {order.service_type} in this region",
            )
        elif order.national and p.scope != "national":
            out[p.provider_id] = Exclusion(
                rule="national_scope", reason="regional provider cannot take a national order"
            )
    if order.national or rule.local_orders == "by_share":
        return out
    left = [p for p in rule.providers if p.provider_id not in out and p.provider_id in available]
    regional = [p for p in left if p.scope == "regional"]
    for p in left:
        if p.scope != "national":
            continue
        if regional:
            out[p.provider_id] = Exclusion(
                rule="local_preference",
                reason=f"local order: regional provider(s) {', '.join(r.provider_id for r in regional)} can take it",
            )
        elif rule.local_orders == "regional_only":
            out[p.provider_id] = Exclusion(
                rule="local_fallback",
                reason="local order and no regional provider can take it; this rule does not fall back to "
                "national providers",
            )
    return out


def blocking_rule(exclusions: dict[str, Exclusion]) -> str | None:
    """The filter rule to name when nobody was left: the first of FILTER_RULES that excluded anyone."""
    used = {e.rule for e in exclusions.values()}
    return next((r for r in FILTER_RULES if r in used), None)
