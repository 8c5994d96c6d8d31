"""POST /ops/work-orders/{orderId}/exception/handled: ops closes a work order's open exception."""

from petcover.api import Call, api, ops
from petcover.models.sla import ExceptionHandled, WorkOrderException
from petcover.services.sla import exceptions


@api(
    summary="Mark the open exception of a work order handled (records the exception_handled node)",
    auth=ops("ops"),
    body=ExceptionHandled,
    response=WorkOrderException,
    metric="WorkOrderExceptionHandled",
    tags=("sla",),
    errors=("WORK_ORDER_NOT_FOUND", "WORK_ORDER_CLOSED", "NO_OPEN_EXCEPTION", "EXCEPTION_ALREADY_HANDLED"),
)
def handler(call: Call[ExceptionHandled]) -> WorkOrderException:
    return exceptions.handle_exception(call.ports, call.principal, call.path["orderId"], call.body)
