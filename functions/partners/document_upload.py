"""POST /partner/documents: a pre-signed URL to upload one qualification document."""

from petcover.api import Call, api, partner
from petcover.models.partners import DocumentUpload, DocumentUploadRequest
from petcover.services.partners import documents


@api(
    summary="Get a pre-signed URL to upload a qualification document",
    auth=partner(),
    body=DocumentUploadRequest,
    response=DocumentUpload,
    status=201,
    idempotent=True,
    metric="PartnerDocumentUploadIssued",
    tags=("partners",),
    errors=("PERMISSION_REQUIRED", "WRONG_PARTNER_KIND"),
)
def handler(call: Call[DocumentUploadRequest]) -> DocumentUpload:
    return documents.document_upload(call.ports, call.principal, call.body)
