"""POST /ops/money-requests: finance asks for a manual refund, payout correction, adjustment or reversal."""

from petcover.api import Call, api, ops
from petcover.models.money import MoneyRequest, MoneyRequestCreate
from petcover.services.money import requests


@api(
    summary="Ask for money to be moved by hand (manual refund, payout correction, ledger adjustment, reversal) "
    "with a reason; nothing is posted until another member of finance approves it",
    auth=ops("finance"),
    body=MoneyRequestCreate,
    response=MoneyRequest,
    status=201,
    idempotent=True,
    metric="MoneyRequested",
    tags=("money",),
    errors=(
        "POLICY_NOT_FOUND",
        "CLAIM_NOT_PAID",
        "JOURNAL_NOT_FOUND",
        "ALREADY_REVERSED",
        "UNKNOWN_ACCOUNT",
        "REFUND_ABOVE_PREMIUM",
        "SUM_INSURED_EXCEEDED",
        "CORRECTION_ABOVE_PAYOUT",
    ),
)
def handler(call: Call[MoneyRequestCreate]) -> MoneyRequest:
    return requests.create(call.ports, call.principal, call.body)
