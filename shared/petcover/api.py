"""The HTTP adapter: one decorator turns a typed operation into an API Gateway (REST) handler.

It parses and size-checks the event, authenticates (partner signature or ops bearer token),
validates the body and query with pydantic, runs the operation (idempotently when it creates
or moves money), and maps the domain error hierarchy to the error body once.

The decorated handler carries its ``spec``; the OpenAPI document is generated from the specs
of the handlers that template.yaml routes to.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from petcover import runtime
from petcover.config import get_settings
from petcover.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    PayloadTooLarge,
    Throttled,
    Unauthenticated,
    Unavailable,
)
from petcover.identity import Principal
from petcover.observability import count, logger, metrics, set_correlation_id
from petcover.ports import Ports

B = TypeVar("B", bound=BaseModel)
AuthKind = Literal["public", "channel", "provider", "partner", "ops"]


@dataclass(frozen=True)
class Auth:
    kind: AuthKind
    roles: tuple[str, ...] = ()  # ops roles allowed (admin always is)
    permission: str | None = None  # contract permission a channel needs (checked by the service)


def public() -> Auth:
    return Auth("public")


def channel(permission: str | None = None) -> Auth:
    return Auth("channel", permission=permission)


def provider() -> Auth:
    return Auth("provider")


def partner() -> Auth:
    """Any signed partner: channel, provider or insurer."""
    return Auth("partner")


def ops(*roles: str) -> Auth:
    return Auth("ops", roles=roles)


@dataclass
class Call(Generic[B]):
    body: B
    query: Any
    path: dict[str, str]
    principal: Principal
    ports: Ports
    headers: dict[str, str]
    idempotency_key: str | None = None
    raw_body: bytes = b""
    method: str = "GET"
    route: str = ""


class NoBody(BaseModel):
    pass


@dataclass
class OperationSpec:
    summary: str
    auth: Auth
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    idempotent: bool
    metric: str
    tags: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default_factory=tuple)
    content_type: str = "application/json"


def _json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None, content_type: str = "application/json"
) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body, default=str, separators=(",", ":"))
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_type, **(headers or {})},
        "body": text,
    }


def error_response(err: DomainError, cid: str) -> dict[str, Any]:
    headers = {"X-Correlation-Id": cid}
    retry = getattr(err, "retry_after", None)
    if retry is not None:
        headers["Retry-After"] = str(retry)
    return _json_response(err.status, err.body(), headers)


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in (event.get("headers") or {}).items() if v is not None}


def _raw_body(event: Mapping[str, Any]) -> bytes:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(raw)
    return raw.encode() if isinstance(raw, str) else bytes(raw)


def _query(event: Mapping[str, Any]) -> dict[str, Any]:
    multi = event.get("multiValueQueryStringParameters") or {}
    single = event.get("queryStringParameters") or {}
    out: dict[str, Any] = dict(single)
    for k, v in multi.items():
        if isinstance(v, list) and len(v) > 1:
            out[k] = v
    return out


def authenticate(auth: Auth, event: Mapping[str, Any], headers: dict[str, str], raw: bytes, p: Ports) -> Principal:
    if auth.kind == "public":
        return Principal("anonymous", "anonymous")
    from petcover.services import access

    if auth.kind == "ops":
        claims = (event.get("requestContext") or {}).get("authorizer") or {}
        principal = access.staff_principal(headers.get("authorization"), claims, p)
        if not access.role_allows(principal.roles, auth.roles):
            raise Forbidden(
                f"This call needs one of the roles: {', '.join(auth.roles or ('admin',))}.",
                code="ROLE_REQUIRED",
                details={"required": list(auth.roles), "have": list(principal.roles)},
            )
        return Principal("ops", principal.id, principal.roles)
    principal = access.partner_principal(
        headers, event.get("httpMethod", "GET"), event.get("path", "/"), _query(event), raw, p
    )
    wanted = {"channel": {"channel"}, "provider": {"provider"}, "partner": {"channel", "provider", "insurer"}}
    if principal.kind not in wanted[auth.kind]:
        raise Forbidden(f"This call is for {auth.kind}s only.", code="WRONG_PARTNER_KIND")
    return principal


def api(
    *,
    summary: str,
    auth: Auth,
    response: Any = None,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    status: int = 200,
    idempotent: bool = False,
    metric: str,
    tags: tuple[str, ...] = (),
    errors: tuple[str, ...] = (),
    content_type: str = "application/json",
) -> Callable[[Callable[[Call[Any]], Any]], Callable[..., dict[str, Any]]]:
    spec = OperationSpec(summary, auth, body, query, response, status, idempotent, metric, tags, errors, content_type)

    def decorate(op: Callable[[Call[Any]], Any]) -> Callable[..., dict[str, Any]]:
        def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
            headers = _headers(event)
            cid = set_correlation_id(headers.get("x-correlation-id"))
            logger.append_keys(route=event.get("resource"), method=event.get("httpMethod"))
            try:
                result = _run(spec, op, event, context, headers)
                result.setdefault("headers", {})["X-Correlation-Id"] = cid
                return result
            except DomainError as err:
                log = logger.warning if err.status < 500 else logger.error
                log("refused", extra={"code": err.code, "status": err.status})
                return error_response(err, cid)
            except Exception:
                logger.exception("unhandled error")
                return error_response(
                    DomainError(
                        "Something went wrong on our side; it has been logged.",
                        details={"correlation_id": cid},
                    ),
                    cid,
                )
            finally:
                metrics.flush_metrics(raise_on_empty_metrics=False)

        handler.spec = spec  # type: ignore[attr-defined]
        handler.operation = op  # type: ignore[attr-defined]
        return handler

    return decorate


def _run(
    spec: OperationSpec,
    op: Callable[[Call[Any]], Any],
    event: dict[str, Any],
    context: Any,
    headers: dict[str, str],
) -> dict[str, Any]:
    settings = get_settings()
    raw = _raw_body(event)
    if len(raw) > settings.max_body_bytes:
        raise PayloadTooLarge(f"The body is {len(raw)} bytes; the limit is {settings.max_body_bytes}.")
    p = runtime.ports()
    principal = authenticate(spec.auth, event, headers, raw, p)
    logger.append_keys(principal=f"{principal.kind}:{principal.id}")

    parsed_body: Any = NoBody()
    if spec.body is not None:
        try:
            payload = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise InvalidInput("The body is not valid JSON.", code="MALFORMED_JSON") from None
        if payload is None:
            raise InvalidInput("A JSON body is required.", code="BODY_REQUIRED")
        try:
            parsed_body = spec.body.model_validate(payload)
        except ValidationError as exc:
            raise InvalidInput(
                "Some fields are invalid.", code="VALIDATION_FAILED", details=field_errors(exc)
            ) from None
    parsed_query: Any = None
    if spec.query is not None:
        try:
            parsed_query = spec.query.model_validate(_query(event))
        except ValidationError as exc:
            raise InvalidInput(
                "Some query parameters are invalid.", code="VALIDATION_FAILED", details=field_errors(exc)
            ) from None

    idem_key = headers.get("idempotency-key")
    if spec.idempotent and not idem_key:
        raise InvalidInput("This call needs an Idempotency-Key header.", code="IDEMPOTENCY_KEY_REQUIRED")
    if idem_key is not None and not (1 <= len(idem_key) <= 128):
        raise InvalidInput("The Idempotency-Key header must be 1 to 128 characters.", code="INVALID_IDEMPOTENCY_KEY")

    call: Call[Any] = Call(
        body=parsed_body,
        query=parsed_query,
        path=dict(event.get("pathParameters") or {}),
        principal=principal,
        ports=p,
        headers=headers,
        idempotency_key=idem_key,
        raw_body=raw,
        method=event.get("httpMethod", "GET"),
        route=event.get("resource", ""),
    )

    def execute() -> dict[str, Any]:
        result = op(call)
        count(spec.metric)
        if spec.content_type != "application/json":
            return {"status": spec.status, "body": result, "content_type": spec.content_type}
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json")
        elif isinstance(result, list):
            result = [r.model_dump(mode="json") if isinstance(r, BaseModel) else r for r in result]
        return {"status": spec.status, "body": result}

    out = _idempotent(spec, principal, idem_key, raw, context, execute) if spec.idempotent and idem_key else execute()
    extra = {"Idempotency-Replayed": "true"} if out.get("replayed") else {}
    return _json_response(out["status"], out["body"], extra, out.get("content_type", "application/json"))


def _idempotent(
    spec: OperationSpec,
    principal: Principal,
    key: str,
    raw: bytes,
    context: Any,
    execute: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Powertools idempotency, keyed by caller + operation + key and validated on the body."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    def mark_replayed(response: Any, _record: Any) -> Any:
        return {**response, "replayed": True}

    cfg = IdempotencyConfig(
        event_key_jmespath="[scope, operation, key]",
        payload_validation_jmespath="body_sha",
        expires_after_seconds=24 * 3600,
        response_hook=mark_replayed,  # type: ignore[arg-type]
    )
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        cfg.register_lambda_context(context)
    persistence = _persistence(DynamoDBPersistenceLayer)

    import hashlib

    data = {
        "scope": f"{principal.kind}:{principal.id}",
        "operation": spec.metric,
        "key": key,
        "body_sha": hashlib.sha256(raw).hexdigest(),
    }

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=cfg)
    def once(request: dict[str, Any]) -> dict[str, Any]:
        return execute()

    try:
        return once(request=data)  # type: ignore[no-any-return]
    except IdempotencyValidationError:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body.",
            code="IDEMPOTENCY_KEY_REUSED",
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(
            "The first request with this Idempotency-Key is still in progress.",
            code="REQUEST_IN_PROGRESS",
            retry_after=1,
        ) from None
    except IdempotencyPersistenceLayerError as exc:
        cause = exc.__cause__ or (exc.args[1] if len(exc.args) > 1 else None)
        if isinstance(cause, DomainError):
            raise cause from None
        raise Unavailable("The idempotency store is unavailable; retry shortly.") from exc


_persistence_layer: Any = None


def _persistence(cls: Any) -> Any:
    global _persistence_layer
    s = get_settings()
    if _persistence_layer is None or _persistence_layer.table_name != s.idempotency_table:
        _persistence_layer = cls(table_name=s.idempotency_table, boto3_client=runtime.boto_client("dynamodb"))
    return _persistence_layer


__all__ = [
    "Auth",
    "Call",
    "NoBody",
    "OperationSpec",
    "Principal",
    "Throttled",
    "Unauthenticated",
    "api",
    "channel",
    "ops",
    "partner",
    "provider",
    "public",
]
