"""Terminate a contract: no new policies, existing ones continue."""

from petcover.api import Call, api, ops
from petcover.models.catalog import Contract
from petcover.models.common import ReasonBody
from petcover.services import catalog


@api(
    summary="Terminate a contract (reason required): no new policies, existing ones continue",
    auth=ops("sales"),
    body=ReasonBody,
    response=Contract,
    metric="ContractTerminated",
    tags=("catalogue",),
)
def handler(call: Call[ReasonBody]) -> Contract:
    channel_id, product_code = call.path["channelId"], call.path["productCode"]
    return catalog.terminate_contract(call.ports, call.principal, channel_id, product_code, reason=call.body.reason)
