"""POST /ops/money-requests/{requestId}/decision: a second member of finance approves (posts) or rejects."""

from petcover.api import Call, api, ops
from petcover.models.money import MoneyDecision, MoneyRequest
from petcover.services.money import requests


@api(
    summary="Approve (the balanced journal is posted with the decision and its audit record) or reject a "
    "money request; never by the person who asked",
    auth=ops("finance"),
    body=MoneyDecision,
    response=MoneyRequest,
    idempotent=True,
    metric="MoneyRequestDecided",
    tags=("money",),
    errors=(
        "MONEY_REQUEST_NOT_FOUND",
        "ILLEGAL_TRANSITION",
        "SAME_PERSON",
        "MONEY_REQUEST_CHANGED",
        "REFUND_ABOVE_PREMIUM",
        "SUM_INSURED_EXCEEDED",
        "ALREADY_REVERSED",
    ),
)
def handler(call: Call[MoneyDecision]) -> MoneyRequest:
    return requests.decide(call.ports, call.principal, call.path["requestId"], call.body)
