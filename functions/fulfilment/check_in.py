"""POST /work-orders/{appointmentId}/check-in: the owner's one-time code verifies the visit."""

from petcover.api import Call, api, provider
from petcover.models.fulfilment import CheckInRequest, WorkOrder
from petcover.services.fulfilment import work_orders


@api(
    summary="Verify the owner's one-time check-in code and start service (booked -> fulfilling)",
    auth=provider(),
    body=CheckInRequest,
    response=WorkOrder,
    metric="WorkOrderCheckedIn",
    tags=("work-orders",),
    errors=(
        "CHECKIN_CODE_INVALID",
        "CHECKIN_CODE_USED",
        "CHECKIN_CODE_EXPIRED",
        "CHECKIN_CODE_LOCKED",
        "CHECKIN_CODE_NOT_ISSUED",
        "ILLEGAL_TRANSITION",
    ),
)
def handler(call: Call[CheckInRequest]) -> WorkOrder:
    return work_orders.check_in(call.ports, call.principal, call.path["appointmentId"], call.body)
