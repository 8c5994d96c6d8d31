"""A channel's contracts."""

from petcover.api import Call, api, ops
from petcover.models.catalog import ContractList
from petcover.services import catalog


@api(
    summary="A channel's contracts",
    auth=ops("sales", "finance", "service"),
    response=ContractList,
    metric="ContractsListed",
    tags=("catalogue",),
)
def handler(call: Call) -> ContractList:
    return ContractList(items=catalog.list_contracts(call.ports, call.path["channelId"]))
