"""POST /ops/settlements/{settlementId}/{action}: confirm receipt (channel), approve or mark paid (provider)."""

from petcover.api import Call, api, ops
from petcover.models.money import Settlement, SettlementAction
from petcover.services.money import settlements


@api(
    summary="Move a settlement on: confirm-receipt of a channel's payment (posts it, the month is settled); "
    "approve a provider statement (someone other than who ran it), then mark-paid (posts the payment)",
    auth=ops("finance"),
    body=SettlementAction,
    response=Settlement,
    idempotent=True,
    metric="SettlementAction",
    tags=("money",),
    errors=(
        "SETTLEMENT_NOT_FOUND",
        "UNKNOWN_ACTION",
        "ILLEGAL_TRANSITION",
        "SAME_PERSON",
        "SETTLEMENT_CHANGED",
        "SETTLEMENT_AMOUNT_MISMATCH",
    ),
)
def handler(call: Call[SettlementAction]) -> Settlement:
    return settlements.act(call.ports, call.principal, call.path["settlementId"], call.path["action"], call.body)
