"""POST /work-orders/{appointmentId}/exception: the provider reports a problem with its work order."""

from petcover.api import Call, api, provider
from petcover.models.sla import ExceptionRaise, WorkOrderException
from petcover.services.sla import exceptions


@api(
    summary="Raise an exception on one of your work orders (ops is alerted and must handle it within the SLA)",
    auth=provider(),
    body=ExceptionRaise,
    response=WorkOrderException,
    status=201,
    idempotent=True,
    metric="WorkOrderExceptionRaised",
    tags=("sla", "providers"),
    errors=("WORK_ORDER_NOT_FOUND", "WORK_ORDER_CLOSED", "EXCEPTION_ALREADY_RAISED"),
)
def handler(call: Call[ExceptionRaise]) -> WorkOrderException:
    return exceptions.raise_exception(call.ports, call.principal, call.path["appointmentId"], call.body)
