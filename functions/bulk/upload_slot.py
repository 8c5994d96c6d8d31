"""Staff: a pre-signed URL to upload a bulk-issue file."""

from petcover.api import Call, api, ops
from petcover.models.bulk import UploadSlot
from petcover.services import bulk


@api(
    summary="Get a pre-signed URL to upload a bulk-issue file",
    auth=ops("service", "sales"),
    response=UploadSlot,
    status=201,
    metric="BulkUploadSlotIssued",
    tags=("bulk",),
)
def handler(call: Call) -> UploadSlot:
    return bulk.upload_slot(call.ports)
