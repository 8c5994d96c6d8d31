"""/portal/insurer/*: an insurer's staff reading the providers bound to it, its products and its claims."""

from petcover.api import Call, api, portal
from petcover.models.portal import InsurerClaimList, InsurerClaimQuery, InsurerProducts, InsurerProviders
from petcover.services.portal import insurer

TAGS = ("portal",)


@api(
    summary="The providers bound to my insurer, with their latest grade and this month's fulfilment",
    auth=portal("insurer"),
    response=InsurerProviders,
    metric="PortalInsurerProvidersRead",
    tags=TAGS,
    route=("GET", "/portal/insurer/providers"),
)
def providers(call: Call) -> InsurerProviders:
    return insurer.providers(call.ports, call.principal)


@api(
    summary="The products routed to my insurer, with this month's policies routed and appointments booked/fulfilled",
    auth=portal("insurer"),
    response=InsurerProducts,
    metric="PortalInsurerProductsRead",
    tags=TAGS,
    route=("GET", "/portal/insurer/products"),
)
def products(call: Call) -> InsurerProducts:
    return insurer.products(call.ports, call.principal)


@api(
    summary="Claims on the policies my insurer underwrote, newest first, by status and product",
    auth=portal("insurer"),
    query=InsurerClaimQuery,
    response=InsurerClaimList,
    metric="PortalInsurerClaimsListed",
    tags=TAGS,
    route=("GET", "/portal/insurer/claims"),
)
def claims(call: Call) -> InsurerClaimList:
    q: InsurerClaimQuery = call.query
    return insurer.claims(
        call.ports, call.principal, status=q.status, product_code=q.product_code, limit=q.limit, cursor=q.cursor
    )
