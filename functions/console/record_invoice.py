"""POST /ops/service-requests/{requestId}/invoice: finance records the invoice sent (number, amount)."""

from petcover.api import Call, api, ops
from petcover.models.service_requests import InvoiceRecord, ServiceRequest
from petcover.services import service_requests


@api(
    summary="Record the invoice sent for a request: its number (once), amount, date and how it was sent",
    auth=ops("finance"),
    body=InvoiceRecord,
    response=ServiceRequest,
    metric="InvoiceRecorded",
    tags=("console",),
    errors=(
        "SERVICE_REQUEST_NOT_FOUND",
        "WRONG_REQUEST_KIND",
        "ILLEGAL_TRANSITION",
        "INVOICE_OVER_PREMIUM",
        "INVOICE_NUMBER_TAKEN",
        "SERVICE_REQUEST_CHANGED",
    ),
)
def handler(call: Call[InvoiceRecord]) -> ServiceRequest:
    return service_requests.record_invoice(call.ports, call.principal, call.path["requestId"], call.body)
