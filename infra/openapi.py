"""Generates openapi.json from template.yaml's routes and each handler's declared models.

`make openapi` writes it; tests/unit/test_template.py fails when the committed file drifts.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from infra import template

OUT = template.ROOT / "openapi.json"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
        }
    },
}
SIGNED_HEADERS = ["X-Pc-Key-Id", "X-Pc-Timestamp", "X-Pc-Nonce", "X-Pc-Signature"]


def _spec_of(handler: str) -> Any:
    module, attr = template.handler_module(handler)
    return getattr(importlib.import_module(module), attr).spec


ERROR_RESPONSES = (
    ("400", "Invalid input"),
    ("401", "Not authenticated"),
    ("403", "Forbidden"),
    ("404", "Not found"),
    ("409", "Conflict"),
    ("413", "Body too large"),
    ("422", "Business rule"),
    ("429", "Throttled"),
    ("500", "Internal error"),
    ("503", "Unavailable"),
)
SECURITY_SCHEMES = {
    "partnerSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Pc-Signature",
        "description": "HMAC-SHA256 over method, path, query, timestamp, nonce and "
        "body hash, with X-Pc-Key-Id, X-Pc-Timestamp, X-Pc-Nonce.",
    },
    "opsBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
}
SchemaRef = Callable[[Any, str], dict[str, Any]]
# Where the product a channel call is checked against comes from (petcover.authorization).
PRODUCT_OF = {
    "body": "the product named in the body (`product_code`)",
    "policy": "the product of the policy in the path",
    "order": "the product of the policy issued for the order in the path",
    "claim": "the product of the claimed policy",
    "appointment": "the product of the appointment's policy",
    "items": "at least one product (a batch spans policies of several products)",
}


def permission_sentence(permission: str, product: str, reading: bool) -> str:
    """What a channel operation needs from its contract, in one sentence for the description."""
    rule = (
        "As a read, it stays open after the contract is terminated or has ended, while the contract's "
        f"last version grants `{permission}`."
        if reading
        else "The contract must be active and in effect today."
    )
    if product == "items" and not reading:
        rule += " Each item is checked again, against its own policy's product, when it is booked."
    return f"Needs the contract permission `{permission}` for {PRODUCT_OF[product]}. {rule}"


def _schemas(specs: dict[template.Route, Any]) -> tuple[dict[str, Any], SchemaRef]:
    """The components' schemas, and a function giving a model's schema (a $ref for pydantic models)."""
    models: set[type[BaseModel]] = set()
    for s in specs.values():
        for m in (s.body, s.response):
            if isinstance(m, type) and issubclass(m, BaseModel):
                models.add(m)
    ordered = sorted(models, key=lambda m: (m.__module__, m.__name__))
    refs, schemas = models_json_schema(
        [(m, "validation" if any(s.body is m for s in specs.values()) else "serialization") for m in ordered],
        ref_template="#/components/schemas/{model}",
    )
    components: dict[str, Any] = dict(schemas.get("$defs", {}))
    components["Error"] = ERROR_SCHEMA

    def ref(model: Any, mode: Any) -> dict[str, Any]:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return refs[(model, mode)] if (model, mode) in refs else refs[(model, "serialization")]  # type: ignore[return-value]
        return TypeAdapter(model).json_schema()

    return components, ref


def _parameters(route: template.Route, s: Any) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
        for n in re.findall(r"{(\w+)}", route.path)
    ]
    if s.query is not None:
        for name, field in s.query.model_fields.items():
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": field.is_required(),
                    "schema": TypeAdapter(field.annotation).json_schema(),
                }
            )
    if s.auth.kind in ("channel", "provider", "partner"):
        params += [{"name": h, "in": "header", "required": True, "schema": {"type": "string"}} for h in SIGNED_HEADERS]
    if s.idempotent:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 128},
            }
        )
    return params


def _responses(s: Any, ref: SchemaRef) -> dict[str, Any]:
    if s.content_type == "application/json":
        content = {"application/json": {"schema": ref(s.response, "serialization")}} if s.response else {}
    else:
        content = {s.content_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(s.status): {"description": "OK", "content": content}}
    for status, why in ERROR_RESPONSES:
        if s.auth.kind == "public" and status in ("401", "403", "429"):
            continue
        responses[status] = {
            "description": why,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return responses


def _operation(route: template.Route, s: Any, ref: SchemaRef) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.function.removesuffix("Function"),
        "summary": s.summary,
        "tags": list(s.tags) or ["default"],
        "parameters": _parameters(route, s),
        "responses": {},
    }
    if s.auth.kind in ("channel", "provider", "partner"):
        op["security"] = [{"partnerSignature": []}]
        if s.auth.permission:
            op["x-petcover-permission"] = s.auth.permission
            op["description"] = permission_sentence(s.auth.permission, s.auth.product, route.method == "GET")
    elif s.auth.kind == "ops":
        op["security"] = [{"opsBearer": []}]
        op["x-roles"] = [*s.auth.roles, "admin"]
    if s.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(s.body, "validation")}},
        }
    op["responses"] = _responses(s, ref)
    return op


def build() -> dict[str, Any]:
    routes = sorted(template.routes(), key=lambda r: (r.path, r.method))
    specs = {r: _spec_of(r.handler) for r in routes}
    components, ref = _schemas(specs)
    paths: dict[str, Any] = {}
    for r, s in specs.items():
        paths.setdefault(r.path, {})[r.method.lower()] = _operation(r, s, ref)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "petcover API",
            "version": "1",
            "description": "Generated from template.yaml routes and the handlers' pydantic models.",
        },
        "servers": [{"url": "/v1"}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }


def render() -> str:
    return json.dumps(build(), indent=1, sort_keys=True) + "\n"


def main() -> int:
    OUT.write_text(render())
    print(f"wrote {OUT.relative_to(template.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
