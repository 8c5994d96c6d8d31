"""One domain error hierarchy. The HTTP adapter maps it to a status and body once.

Every error carries a stable machine code (``POLICY_NOT_FOUND``), a sentence a person
understands, and optional structured details (field errors, failed rules, ...).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 500
    code = "INTERNAL"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


class InvalidInput(DomainError):
    """400: the request is malformed or a field is wrong (details: field errors)."""

    status = 400
    code = "INVALID_INPUT"


class Unauthenticated(DomainError):
    """401: no valid credentials (bad signature, stale timestamp, unknown key...)."""

    status = 401
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    """403: authenticated, but not allowed (role, contract, closed channel)."""

    status = 403
    code = "FORBIDDEN"


class NotFound(DomainError):
    """404: the object does not exist, or the caller may not see it."""

    status = 404
    code = "NOT_FOUND"


class Conflict(DomainError):
    """409: illegal state transition, duplicate, lost race or held lock."""

    status = 409
    code = "CONFLICT"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after = retry_after


class PayloadTooLarge(DomainError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class BusinessRuleViolation(DomainError):
    """422: well-formed, but a business rule refuses it (underwriting, renewal...)."""

    status = 422
    code = "BUSINESS_RULE"


class Throttled(DomainError):
    """429: the caller exceeded its rate limit."""

    status = 429
    code = "THROTTLED"

    def __init__(self, message: str, *, retry_after: int = 1, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """503: a dependency is throttling or down and retries are exhausted."""

    status = 503
    code = "UNAVAILABLE"

    def __init__(self, message: str, *, retry_after: int = 1, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class IllegalTransition(Conflict):
    code = "ILLEGAL_TRANSITION"


class StaleWrite(Conflict):
    """A conditional write lost: the object changed (or the lease expired) meanwhile."""

    code = "STALE_WRITE"
