"""Authorise a published product to a channel."""

from petcover.api import Call, api, ops
from petcover.models.catalog import Contract, ContractCreate
from petcover.services import catalog


@api(
    summary="Authorise a published product to a channel",
    auth=ops("sales"),
    body=ContractCreate,
    response=Contract,
    status=201,
    idempotent=True,
    metric="ContractCreated",
    tags=("catalogue",),
)
def handler(call: Call[ContractCreate]) -> Contract:
    return catalog.create_contract(call.ports, call.principal, call.path["channelId"], call.body)
