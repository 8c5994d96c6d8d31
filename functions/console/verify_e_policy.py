"""GET /e-policies/{code}: anyone holding an e-policy checks it is genuine (public)."""

from petcover.api import Call, api, public
from petcover.models.service_requests import EPolicyCheck
from petcover.services import service_requests


@api(
    summary="Check an e-policy by its verification code: which policy, plan and term it is for, the policy's "
    "status now, and the SHA-256 of the PDF as issued",
    auth=public(),
    response=EPolicyCheck,
    metric="EPolicyVerified",
    tags=("console",),
    errors=("E_POLICY_NOT_FOUND",),
)
def handler(call: Call) -> EPolicyCheck:
    return service_requests.verify(call.ports, call.path["code"])
