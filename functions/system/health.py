"""GET /health: the service is up and can read its table."""

from petcover.api import Call, api, public
from petcover.models.system import Health
from petcover.services import system


@api(summary="Liveness and readiness", auth=public(), response=Health, metric="HealthChecked", tags=("system",))
def handler(call: Call) -> Health:
    return system.health(call.ports)
