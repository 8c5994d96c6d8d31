"""POST /ops/dispatch/simulate: N synthetic orders against a draft rule set (nothing is written)."""

from petcover.api import Call, api, ops
from petcover.models.dispatch import SimulationOut, SimulationRequest
from petcover.services.dispatch import simulation


@api(
    summary="Simulate a draft rule set: run N synthetic orders (up to 100,000) and return the resulting shares, "
    "worst deviations, manual orders and coverage gaps; nothing is written",
    auth=ops("ops"),
    body=SimulationRequest,
    response=SimulationOut,
    metric="DispatchSimulated",
    tags=("dispatch",),
    errors=("DISPATCH_RULES_INVALID",),
)
def handler(call: Call[SimulationRequest]) -> SimulationOut:
    return simulation.simulate_draft(call.ports, call.body)
