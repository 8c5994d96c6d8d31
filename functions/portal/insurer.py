"""/portal/insurer/*: an insurer's staff reading the providers bound to it and its products."""

from petcover.api import Call, api, portal
from petcover.models.portal import InsurerProducts, InsurerProviders
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
    summary="The products routed to my insurer, with the policies routed this month",
    auth=portal("insurer"),
    response=InsurerProducts,
    metric="PortalInsurerProductsRead",
    tags=TAGS,
    route=("GET", "/portal/insurer/products"),
)
def products(call: Call) -> InsurerProducts:
    return insurer.products(call.ports, call.principal)
