"""GET /contracts/{productCode}/rates: the signed channel's contract rate history for a product."""

from petcover.api import Call, NoBody, api, partner
from petcover.models.catalog import ContractRateHistory
from petcover.services import contract_rates


@api(
    summary="The history of my contract rates for a product (premium multiplier, commission, from when)",
    auth=partner(),
    response=ContractRateHistory,
    metric="ContractRatesRead",
    tags=("catalogue",),
    errors=("CONTRACT_NOT_FOUND", "WRONG_PARTNER_KIND"),
)
def handler(call: Call[NoBody]) -> ContractRateHistory:
    return contract_rates.history(call.ports, call.principal, call.path["productCode"])
