"""PUT /ops/sla/config: validate and store a new SLA configuration version (audited)."""

from petcover.api import Call, api, ops
from petcover.models.sla import SlaConfigSaved, SlaConfigUpdate
from petcover.services.sla import config


@api(
    summary="Replace the SLA configuration: a new version, validated and audited; the same rules again "
    "change nothing; expected_version guards against overwriting a colleague's change",
    auth=ops("ops"),
    body=SlaConfigUpdate,
    response=SlaConfigSaved,
    metric="SlaConfigUpdated",
    tags=("sla",),
    errors=("INVALID_SLA_CONFIG", "SLA_CONFIG_CHANGED"),
)
def handler(call: Call[SlaConfigUpdate]) -> SlaConfigSaved:
    return config.put_config(call.ports, call.principal, call.body)
