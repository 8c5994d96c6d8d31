"""GET /ops/sla/config: the current SLA configuration, its effective limits and stored versions."""

from petcover.api import Call, api, ops
from petcover.models.sla import SlaConfigView
from petcover.services.sla import config


@api(
    summary="Current SLA configuration (limits per node and service type, remote and core adjustments), "
    "the limits as applied in seconds, and the stored versions newest first",
    auth=ops("ops"),
    response=SlaConfigView,
    metric="SlaConfigRead",
    tags=("sla",),
)
def handler(call: Call) -> SlaConfigView:
    return config.get_config(call.ports)
