"""Signature self-check: the canonical string we compute and which part differs from yours."""

import time

from petcover import authentication, signing
from petcover.api import Call, api, public
from petcover.models.catalog import SignatureCheckRequest, SignatureCheckResult


@api(
    summary="Check a request signature without revealing the secret",
    auth=public(),
    body=SignatureCheckRequest,
    response=SignatureCheckResult,
    metric="SignatureChecked",
    tags=("channels",),
)
def handler(call: Call[SignatureCheckRequest]) -> SignatureCheckResult:
    req = call.body
    result = signing.explain(
        req.headers,
        req.method,
        req.path,
        req.query,
        req.body.encode(),
        lookup_key=lambda k: authentication.lookup_key(k, call.ports),
        now=int(time.time()),
        their_canonical=req.canonical,
    )
    return SignatureCheckResult.model_validate(result)
