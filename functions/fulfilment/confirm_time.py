"""POST /work-orders/{appointmentId}/confirm-time: offline appointment time; issues the check-in code."""

from petcover.api import Call, api, provider
from petcover.models.fulfilment import ConfirmTimeRequest, WorkOrder
from petcover.services.fulfilment import work_orders


@api(
    summary="Confirm the appointment time of an offline service (the owner gets a one-time check-in code)",
    auth=provider(),
    body=ConfirmTimeRequest,
    response=WorkOrder,
    metric="WorkOrderTimeConfirmed",
    tags=("work-orders",),
    errors=("ILLEGAL_TRANSITION", "WRONG_SERVICE_MODE", "ORDER_LOCKED"),
)
def handler(call: Call[ConfirmTimeRequest]) -> WorkOrder:
    return work_orders.confirm_time(call.ports, call.principal, call.path["appointmentId"], call.body)
