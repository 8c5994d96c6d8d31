"""A channel reads the history of its contract rates for a product: every version of the
contract's premium multiplier and commission, oldest first."""

from __future__ import annotations

from petcover.errors import Forbidden
from petcover.identity import Principal
from petcover.models.catalog import ContractRate, ContractRateHistory
from petcover.ports import Ports
from petcover.repositories import catalog as keys
from petcover.repositories import partners as partner_keys
from petcover.services import catalog


def history(p: Ports, who: Principal, product_code: str) -> ContractRateHistory:
    """The signed channel's own contract only: another channel's is simply not there."""
    if who.kind != "channel":
        raise Forbidden("This call is for channels.", code="WRONG_PARTNER_KIND")
    current = catalog.get_contract(p, who.id, product_code)
    page = p.store.query(
        partner_keys.channel_pk(who.id), sk_prefix=keys.contract_versions_prefix(product_code), limit=500
    )
    rates = [
        ContractRate(
            version=c.version,
            premium_multiplier=c.premium_multiplier,
            commission_pct=c.commission_pct,
            effective_from=c.effective_from,
            effective_to=c.effective_to,
            created_at=c.created_at,
        )
        for c in (keys.load_contract(i) for i in page.items)
    ]
    return ContractRateHistory(
        channel_id=who.id,
        product_code=product_code,
        status=current.status,
        rates=sorted(rates, key=lambda r: r.version),
    )
