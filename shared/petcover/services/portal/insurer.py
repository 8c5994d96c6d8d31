"""An insurer's staff in the portal: the providers bound to it and the products routed to it.

Read-only. Bindings come from the insurer's active configuration; each bound provider shows its
latest grade and this month's fulfilment counters. Products are those whose insurer routing names
the insurer, with the policies routed to it this month (the routing counters).
"""

from __future__ import annotations

from petcover.domain import calendar
from petcover.identity import Principal
from petcover.models.portal import BoundProvider, InsurerProduct, InsurerProducts, InsurerProviders
from petcover.ports import Ports
from petcover.repositories import insurers as insurer_keys
from petcover.repositories import partners as partner_keys
from petcover.repositories import quality as quality_keys
from petcover.services import catalog
from petcover.services.insurers import routing
from petcover.services.partners import directory
from petcover.services.partners.accounts import caller


def providers(p: Ports, who: Principal) -> InsurerProviders:
    caller(p, who)
    now = p.now()
    month = calendar.month_of(now)
    this_month = quality_keys.month_counters(p.store, month)
    graded = {a.provider_id: a.grade for a in quality_keys.assessments(p.store, calendar.previous_month(now))}
    items = []
    for b in directory.insurer_bindings(p, who.id):
        acc = p.store.get(*partner_keys.partner(b.provider_id), consistent=False)
        items.append(
            BoundProvider(
                binding=b,
                name=partner_keys.load_account(acc).name if acc else None,
                grade=graded.get(b.provider_id),
                month=this_month.get(b.provider_id),
            )
        )
    return InsurerProviders(month=month, items=items)


def products(p: Ports, who: Principal) -> InsurerProducts:
    caller(p, who)
    month = calendar.month_of(p.now())
    items = []
    for head in catalog.list_products(p):
        current = routing.current(p, head.code, cached=True)
        route = next((r for r in current[1].routes if r.insurer_id == who.id), None) if current else None
        if route is None:
            continue
        counted = p.store.get(*insurer_keys.route_counter(head.code, month, who.id), consistent=False)
        items.append(
            InsurerProduct(
                product_code=head.code,
                name=head.name,
                weight=route.weight,
                policies_routed=int(counted.get("n", 0)) if counted else 0,
            )
        )
    return InsurerProducts(month=month, items=items)
