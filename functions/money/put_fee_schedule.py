"""PUT /ops/fee-schedules/{serviceType}: finance publishes a new version of a provider fee schedule."""

from petcover.api import Call, api, ops
from petcover.domain.fees import FeeVersion
from petcover.models.money import FeeSchedulePublish
from petcover.services.money import fees


@api(
    summary="Publish a new version of the provider fee schedule of a service type (a fee per region code, "
    '"*" for anywhere else); fulfilled orders earn the version in force on their fulfilment day',
    auth=ops("finance"),
    body=FeeSchedulePublish,
    response=FeeVersion,
    status=201,
    metric="FeeSchedulePublished",
    tags=("money",),
    errors=("EFFECTIVE_FROM_IN_PAST", "FEE_SCHEDULE_CHANGED"),
)
def handler(call: Call[FeeSchedulePublish]) -> FeeVersion:
    return fees.publish(call.ports, call.principal, call.path["serviceType"], call.body)
