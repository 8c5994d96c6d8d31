"""Terminate a contract: no new policies, existing ones continue."""

from petcover.api import Call, api, ops
from petcover.models.catalog import Contract
from petcover.services import catalog


@api(
    summary="Terminate a contract: no new policies, existing ones continue",
    auth=ops("sales"),
    response=Contract,
    metric="ContractTerminated",
    tags=("catalogue",),
)
def handler(call: Call) -> Contract:
    return catalog.terminate_contract(call.ports, call.principal, call.path["channelId"], call.path["productCode"])
