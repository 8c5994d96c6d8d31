"""The HTTP adapter: one decorator turns a typed operation into an API Gateway (REST) handler.

It parses and size-checks the event, authenticates (partner signature or ops bearer token,
checked by ``petcover.authentication``), validates the body and query with pydantic, checks a
channel's contract permission (``petcover.authorization``), runs the operation (idempotently
when it creates or moves money: ``petcover.idempotency``), and maps the domain error hierarchy
to the error body once.

The decorated handler carries its ``spec``; the OpenAPI document is generated from the specs
of the handlers that template.yaml routes to.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from petcover import authentication, idempotency, request_parsing, runtime
from petcover.config import get_settings
from petcover.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
)
from petcover.identity import Permission, Principal, ProductSource, role_allows
from petcover.observability import count, lambda_entry, logger, set_correlation_id
from petcover.ports import Ports
from petcover.request_parsing import NoBody

B = TypeVar("B", bound=BaseModel)
SIGNATURE_REJECTED = "SignatureRejected"  # partner calls refused with a 401 (bad, stale, replayed, unknown key)
AuthKind = Literal["public", "channel", "provider", "partner", "ops", "portal"]
IN_TRANSACTION = "in_transaction"
Idempotent = bool | Literal["in_transaction"]


@dataclass(frozen=True)
class Auth:
    kind: AuthKind
    roles: tuple[str, ...] = ()  # ops roles allowed (admin always is)
    permission: Permission | None = None  # contract permission a channel needs (checked by the adapter)
    product: ProductSource | None = None  # where the adapter finds the product the call concerns
    staff_of: tuple[str, ...] = ()  # portal: the partner kinds whose staff may call (provider, insurer)


def public() -> Auth:
    return Auth("public")


def channel(permission: Permission, *, product: ProductSource) -> Auth:
    """A signed channel call that needs ``permission`` in its contract for the product the call concerns.

    ``product`` says where that product comes from: ``"body"`` (the request's product_code), the
    object the path names (``"policy"``, ``"order"``, ``"claim"``, ``"appointment"``), or ``"items"``
    (a batch over several policies: each item is checked when it is booked). ``petcover.authorization``
    applies the rule before the operation runs; GET calls are reads (see there).
    """
    return Auth("channel", permission=permission, product=product)


def provider() -> Auth:
    return Auth("provider")


def partner() -> Auth:
    """Any signed partner: channel, provider or insurer."""
    return Auth("partner")


def ops(*roles: str) -> Auth:
    return Auth("ops", roles=roles)


def portal(*kinds: str) -> Auth:
    """A signed-in portal user (Cognito ID token, or a local demo token) of a partner of ``kinds``.

    The principal is that partner (``Principal("provider", "P1")``): services scope by it as they
    do for the partner's own signed calls (``petcover.authentication.portal_principal``)."""
    return Auth("portal", staff_of=kinds or ("provider",))


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
    # For operations declared idempotent="in_transaction": the record to put in their transaction.
    once: idempotency.InTransaction | None = None


@dataclass(frozen=True)
class Reply:
    """An answer other than the operation's usual status: e.g. 202 "in progress" with Retry-After."""

    body: Any
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Raw:
    """A text answer whose content type and headers the operation chooses (the console's files)."""

    body: str
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class OperationSpec:
    summary: str
    auth: Auth
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    # True: Powertools records around the operation; "in_transaction": the operation puts
    # ``call.once.record(answer)`` in its own transaction (two round trips fewer).
    idempotent: Idempotent
    metric: str
    tags: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default_factory=tuple)
    content_type: str = "application/json"
    # Path parameters with a shape (a pattern, an enum): validated by the adapter, stated in openapi.json.
    path: type[BaseModel] | None = None
    # Other success answers the operation may give, with what they mean (same body schema).
    also: tuple[tuple[int, str], ...] = ()
    # The handler's dotted name (``policies.underwrite.handler``, as template.yaml names it): what
    # idempotency records are keyed by, so two operations never share one.
    operation_id: str = ""
    # (method, path) of an operation served by a ``Router`` under one proxy route (the portal).
    route: tuple[str, str] | None = None


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


def authenticate(auth: Auth, event: Mapping[str, Any], headers: dict[str, str], raw: bytes, p: Ports) -> Principal:
    if auth.kind == "public":
        return Principal("anonymous", "anonymous")
    if auth.kind == "ops":
        claims = (event.get("requestContext") or {}).get("authorizer") or {}
        principal = authentication.staff_principal(headers.get("authorization"), claims, p)
        if not role_allows(principal.roles, auth.roles):
            raise Forbidden(
                f"This call needs one of the roles: {', '.join(auth.roles or ('admin',))}.",
                code="ROLE_REQUIRED",
                details={"required": list(auth.roles), "have": list(principal.roles)},
            )
        return Principal("ops", principal.id, principal.roles)
    if auth.kind == "portal":
        principal = authentication.portal_principal(headers.get("authorization"), p)
        if principal.kind not in auth.staff_of:
            raise Forbidden(f"This call is for {' and '.join(auth.staff_of)} staff only.", code="WRONG_PARTNER_KIND")
        return principal
    principal = authentication.partner_principal(
        headers, event.get("httpMethod", "GET"), event.get("path", "/"), request_parsing.query_of(event), raw, p
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
    idempotent: Idempotent = False,
    metric: str,
    tags: tuple[str, ...] = (),
    errors: tuple[str, ...] = (),
    content_type: str = "application/json",
    path: type[BaseModel] | None = None,
    also: tuple[tuple[int, str], ...] = (),
    route: tuple[str, str] | None = None,
) -> Callable[[Callable[[Call[Any]], Any]], Callable[..., dict[str, Any]]]:
    """Long because it passes on every option an operation declares.

    ``errors``: codes the operation raises behind a call the static walk cannot follow (see
    infra/error_codes.py); every other code it can answer with is found in its code. ``also``: other
    success answers the operation may give, with what they mean (same body schema)."""
    spec = OperationSpec(
        summary,
        auth,
        body,
        query,
        response,
        status,
        idempotent,
        metric,
        tags,
        errors,
        content_type,
        path=path,
        also=also,
        route=route,
    )

    def decorate(op: Callable[[Call[Any]], Any]) -> Callable[..., dict[str, Any]]:
        @lambda_entry
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            headers = request_parsing.headers_of(event)
            cid = set_correlation_id(headers.get("x-correlation-id"))
            logger.append_keys(route=event.get("resource"), method=event.get("httpMethod"))
            try:
                result = _run(spec, op, event, context, headers)
                result.setdefault("headers", {})["X-Correlation-Id"] = cid
                return result
            except DomainError as err:
                if err.status == 401 and spec.auth.kind not in ("ops", "portal"):
                    count(SIGNATURE_REJECTED)  # the signature-failure alarm watches it
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

        spec.operation_id = f"{op.__module__}.{op.__qualname__}"
        handler.spec = spec  # type: ignore[attr-defined]
        handler.operation = op  # type: ignore[attr-defined]
        return handler

    return decorate


def _idempotency_key(spec: OperationSpec, headers: Mapping[str, str]) -> str | None:
    key = headers.get("idempotency-key")
    if spec.idempotent and not key:
        raise InvalidInput("This call needs an Idempotency-Key header.", code="IDEMPOTENCY_KEY_REQUIRED")
    if key is not None and not (1 <= len(key) <= 128):
        raise InvalidInput("The Idempotency-Key header must be 1 to 128 characters.", code="INVALID_IDEMPOTENCY_KEY")
    return key


def _run(
    spec: OperationSpec,
    op: Callable[[Call[Any]], Any],
    event: dict[str, Any],
    context: Any,
    headers: dict[str, str],
) -> dict[str, Any]:
    settings = get_settings()
    raw = request_parsing.raw_body(event)
    if len(raw) > settings.max_body_bytes:
        raise PayloadTooLarge(f"The body is {len(raw)} bytes; the limit is {settings.max_body_bytes}.")
    p = runtime.ports()
    request_id = (event.get("requestContext") or {}).get("requestId")
    principal = replace(authenticate(spec.auth, event, headers, raw, p), request_id=request_id)
    logger.append_keys(principal=f"{principal.kind}:{principal.id}", request_id=request_id)
    parsed_body = request_parsing.parse_body(spec.body, raw)
    parsed_query = request_parsing.parse_query(spec.query, event)
    idem_key = _idempotency_key(spec, headers)
    method = event.get("httpMethod", "GET")
    path = dict(event.get("pathParameters") or {})
    request_parsing.check_path(spec.path, path)
    if spec.auth.kind == "channel":
        # Imported here: ops and provider functions need none of the services it reads.
        from petcover import authorization

        assert spec.auth.permission and spec.auth.product  # channel() requires both
        p = authorization.check(
            p, principal, spec.auth.permission, spec.auth.product, path, parsed_body, reading=method == "GET"
        )
    call: Call[Any] = Call(
        body=parsed_body,
        query=parsed_query,
        path=path,
        principal=principal,
        ports=p,
        headers=headers,
        idempotency_key=idem_key,
        raw_body=raw,
        method=method,
        route=event.get("resource", ""),
    )
    if spec.idempotent == IN_TRANSACTION and idem_key:
        out = _run_in_transaction(spec, op, call, idem_key)
    elif spec.idempotent and idem_key:
        out = idempotency.run_once(
            scope=f"{principal.kind}:{principal.id}",
            operation=spec.operation_id,
            key=idem_key,
            body=raw,
            context=context,
            execute=lambda: _execute(spec, op, call),
        )
    else:
        out = _execute(spec, op, call)
    extra = {"Idempotency-Replayed": "true"} if out.get("replayed") else {}
    extra.update(out.get("headers") or {})
    return _json_response(out["status"], out["body"], extra, out.get("content_type", "application/json"))


def _run_in_transaction(spec: OperationSpec, op: Callable[[Call[Any]], Any], call: Call[Any], key: str) -> Any:
    """Runs an operation that records its first answer in its own transaction; a refused repeat
    (its transaction meets the record) answers with the first answer."""
    call.once = once = idempotency.InTransaction(
        scope=f"{call.principal.kind}:{call.principal.id}",
        operation=spec.operation_id,
        key=key,
        body=call.raw_body,
        status=spec.status,
    )
    try:
        out = _execute(spec, op, call)
    except DomainError:
        first = once.replay(call.ports)
        if first is None:
            raise
        return first
    if not once.recorded:
        raise RuntimeError(f"{spec.operation_id} is idempotent in its transaction but wrote no record")
    return out


def _execute(spec: OperationSpec, op: Callable[[Call[Any]], Any], call: Call[Any]) -> dict[str, Any]:
    """Runs the operation and shapes what it returns into the (replayable) stored response."""
    result = op(call)
    count(spec.metric)
    if isinstance(result, Raw):
        headers = dict(result.headers)
        return {"status": spec.status, "body": result.body, "content_type": result.content_type, "headers": headers}
    if spec.content_type != "application/json":
        return {"status": spec.status, "body": result, "content_type": spec.content_type}
    status, headers = spec.status, {}
    if isinstance(result, Reply):
        status, headers, result = result.status, dict(result.headers), result.body
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    elif isinstance(result, list):
        result = [r.model_dump(mode="json") if isinstance(r, BaseModel) else r for r in result]
    return {"status": status, "body": result, **({"headers": headers} if headers else {})}


class Router:
    """Several operations in one function behind one proxy route (``/portal/{proxy+}``).

    Each operation is an ``@api(route=(method, path))`` handler with its own spec (openapi.json
    lists them one by one); the router matches the request's method and path to one of them, hands
    it the path parameters its template names, and answers 404 ``ROUTE_NOT_FOUND`` otherwise.
    One function and one proxy route keep the stack's resource count down."""

    def __init__(self, *handlers: Callable[..., dict[str, Any]]) -> None:
        self.routes: dict[tuple[str, str], Callable[..., dict[str, Any]]] = {}
        self._patterns: list[tuple[re.Pattern[str], str, str]] = []
        for h in handlers:
            route = h.spec.route  # type: ignore[attr-defined]
            assert route is not None, f"{h.spec.operation_id} has no route"  # type: ignore[attr-defined]
            self.routes[route] = h
            regex = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(route[1]))
            self._patterns.append((re.compile(f"^{regex}$"), route[0], route[1]))

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        method = str(event.get("httpMethod", "GET")).upper()
        path = "/" + str(event.get("path", "/")).strip("/")
        if path.startswith("/v1/"):  # a stage prefix some emulators keep in the path
            path = path[3:]
        for pattern, m, template_path in self._patterns:
            found = pattern.match(path)
            if not found or m != method:
                continue
            params = {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
            return self.routes[(m, template_path)](
                {**event, "resource": template_path, "pathParameters": params}, context
            )
        cid = set_correlation_id(request_parsing.headers_of(event).get("x-correlation-id"))
        return error_response(NotFound(f"There is no {method} {path}.", code="ROUTE_NOT_FOUND"), cid)


def specs_of(handler: Any) -> list[OperationSpec]:
    """The operations one deployed handler serves: its own spec, or each of a router's."""
    if isinstance(handler, Router):
        return [h.spec for h in handler.routes.values()]  # type: ignore[attr-defined]
    spec = getattr(handler, "spec", None)
    return [spec] if spec is not None else []


__all__ = [
    "Auth",
    "Call",
    "NoBody",
    "OperationSpec",
    "Raw",
    "Reply",
    "Router",
    "api",
    "channel",
    "ops",
    "partner",
    "portal",
    "provider",
    "public",
    "specs_of",
]
