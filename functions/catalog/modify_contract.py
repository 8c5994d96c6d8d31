"""Modify contract terms: new policies use them, old ones keep theirs."""

from petcover.api import Call, api, ops
from petcover.models.catalog import Contract, ContractTerms
from petcover.services import catalog


@api(
    summary="Modify contract terms: new policies use them, old ones keep theirs",
    auth=ops("sales"),
    body=ContractTerms,
    response=Contract,
    metric="ContractModified",
    tags=("catalogue",),
)
def handler(call: Call[ContractTerms]) -> Contract:
    return catalog.modify_contract(
        call.ports, call.principal, call.path["channelId"], call.path["productCode"], call.body
    )
