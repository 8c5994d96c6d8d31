"""POST /ops/settlements: finance runs a channel's or a provider's settlement of an ended month."""

from petcover.api import Call, api, ops
from petcover.models.money import Settlement, SettlementRun
from petcover.services import audit
from petcover.services.money import settlements


@api(
    summary="Run the settlement of one channel or provider for an ended month (idempotent: the same statement "
    "again); the month is locked, later events of it go to the next open month as adjustments",
    auth=ops("finance"),
    body=SettlementRun,
    response=Settlement,
    status=201,
    idempotent=True,
    metric="SettlementRun",
    tags=("money",),
    errors=("PERIOD_NOT_ENDED", "EARLIER_PERIOD_NOT_RUN"),
)
def handler(call: Call[SettlementRun]) -> Settlement:
    b = call.body
    return settlements.run(call.ports, audit.actor_name(call.principal), b.party, b.party_id, b.month)
