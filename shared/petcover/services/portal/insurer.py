"""An insurer's staff in the portal: the providers bound to it, the products routed to it and the
claims on the policies it underwrote.

Read-only. Bindings come from the insurer's active configuration; each bound provider shows its
latest grade and this month's fulfilment counters. Products are those whose insurer routing names
the insurer, with the policies routed to it this month (the routing counters) and the appointments
booked and fulfilled this month on the policies it underwrote (``repositories.insurers``
INSFULFIL rows; appointments booked before those rows existed are not counted).
"""

from __future__ import annotations

from petcover.domain import calendar
from petcover.identity import Principal
from petcover.models.claims import Claim
from petcover.models.portal import (
    BoundProvider,
    InsurerClaim,
    InsurerClaimList,
    InsurerProduct,
    InsurerProducts,
    InsurerProviders,
)
from petcover.ports import Ports
from petcover.repositories import claims as claim_repo
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
    fulfilment = insurer_keys.fulfilment_counts(p.store, who.id, month)
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
                **fulfilment.get(head.code, {}),
            )
        )
    return InsurerProducts(month=month, items=items)


CLAIM_READS = 5  # index pages one filtered list page may read before it answers with a cursor


def _claim_view(c: Claim) -> InsurerClaim:
    return InsurerClaim.model_validate(c.model_dump(include=set(InsurerClaim.model_fields)))


def claims(
    p: Ports, who: Principal, *, status: str | None, product_code: str | None, limit: int, cursor: str | None
) -> InsurerClaimList:
    """The claims on policies the insurer underwrote, newest first (gsi2 INSCLAIMS#{insurer}).

    Only the insurer's own index partition is read, so another insurer's claims (and in-house
    ones) never appear. The filters apply to each index page read: a page reads at most
    CLAIM_READS index pages and may hold fewer than ``limit`` claims with a cursor to go on.
    Claims submitted before the index key was written with the claim (it was added with this
    list) are not in the index, so they are missing from the list.
    """
    caller(p, who)
    items: list[InsurerClaim] = []
    for _ in range(CLAIM_READS):
        page, cursor = claim_repo.of_insurer(p.store, who.id, limit=limit - len(items), cursor=cursor)
        items += [
            _claim_view(c)
            for c in page
            if (status is None or c.status == status) and (product_code is None or c.product_code == product_code)
        ]
        if cursor is None or len(items) >= limit:
            break
    return InsurerClaimList(items=items, cursor=cursor)
