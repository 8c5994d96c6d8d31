"""Generates openapi.json from template.yaml's routes and each handler's declared models.

`make openapi` writes it; tests/unit/test_template.py fails when the committed file drifts.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from infra import error_codes, template

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


def _handler_of(handler: str) -> Any:
    module, attr = template.handler_module(handler)
    return getattr(importlib.import_module(module), attr)


def _spec_of(handler: str) -> Any:
    return _handler_of(handler).spec


def max_body_bytes() -> int:
    """The adapter's body limit (petcover.config), as the stack deploys it."""
    from petcover.config import Settings

    return int(Settings.model_fields["max_body_bytes"].default)


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
    "portalBearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A portal user's ID token: from the staff user pool on AWS (one group named "
        "provider:<id> or insurer:<id>), a demo token locally (`make token PROVIDER=...`).",
    },
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


class ContractSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, plus what ``strip_whitespace`` means: a string that must keep at least
    one character after stripping must hold one that is not a space."""

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        out = super().str_schema(schema)
        if schema.get("strip_whitespace") and schema.get("min_length") and "pattern" not in out:
            out["pattern"] = NOT_ONLY_SPACE
        return out


def _space_class() -> str:
    """A character pydantic's ``strip_whitespace`` keeps (Unicode White_Space: Python's ``isspace``
    less U+001C..U+001F), as a regex class written the same for ECMA and Python."""
    spaces = [c for c in map(chr, range(0x3001)) if c.isspace() and not 0x1C <= ord(c) <= 0x1F]
    ranges: list[list[int]] = []
    for code in map(ord, spaces):
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    parts = [f"\\u{a:04x}" + (f"-\\u{b:04x}" if b > a else "") for a, b in ranges]
    return "[^" + "".join(parts) + "]"


NOT_ONLY_SPACE = _space_class()


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
        schema_generator=ContractSchema,
    )
    components: dict[str, Any] = dict(schemas.get("$defs", {}))
    components["Error"] = ERROR_SCHEMA
    for model in _input_models(specs):
        _state_rules(model, components)

    def ref(model: Any, mode: Any) -> dict[str, Any]:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return refs[(model, mode)] if (model, mode) in refs else refs[(model, "serialization")]  # type: ignore[return-value]
        return TypeAdapter(model).json_schema()

    return components, ref


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """A parameter's schema with its ``$defs`` references written out (parameters stand alone)."""
    if isinstance(schema, dict):
        if "$ref" in schema and schema["$ref"].startswith("#/$defs/"):
            return _inline(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def _model_parameters(model: type[BaseModel], where: str) -> list[dict[str, Any]]:
    """One parameter per field of a query or path model, with every constraint the model checks.

    A query cannot carry a JSON null: an optional parameter is one that may be left out."""
    full = model.model_json_schema(mode="validation", schema_generator=ContractSchema)
    defs = full.get("$defs", {})
    required = set(full.get("required", []))
    params = []
    for name, prop in full.get("properties", {}).items():
        schema = _inline(prop, defs)
        schema.pop("title", None)
        options = [o for o in schema.get("anyOf", []) if o != {"type": "null"}]
        if "anyOf" in schema and len(options) == 1:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            schema = {**rest, **options[0]}
        elif "anyOf" in schema:
            schema["anyOf"] = options
        if schema.get("default") is None:
            schema.pop("default", None)
        rules = validator_rules(model)[1].get(name)
        if rules:
            schema["description"] = (schema.get("description", "") + " " + " ".join(rules)).strip()
        param: dict[str, Any] = {"name": name, "in": where, "required": where == "path" or name in required}
        if "description" in schema:
            param["description"] = schema.pop("description")
        param["schema"] = schema
        params.append(param)
    return params


def _input_models(specs: dict[template.Route, Any]) -> list[type[BaseModel]]:
    """Every model a request body, query or path is validated with, nested ones included."""
    seen: dict[type[BaseModel], None] = {}

    def visit(t: Any) -> None:
        if isinstance(t, type) and issubclass(t, BaseModel):
            if t in seen:
                return
            seen[t] = None
            for f in t.model_fields.values():
                visit(f.annotation)
        for arg in getattr(t, "__args__", ()) or ():
            visit(arg)
        for meta in getattr(t, "__metadata__", ()) or ():
            visit(meta)
        origin = getattr(t, "__origin__", None)
        if origin is not None:
            visit(origin)

    for s in specs.values():
        for m in (s.body, s.query, s.path):
            visit(m)
    return sorted(seen, key=lambda m: (m.__module__, m.__name__))


def validator_rules(model: type[BaseModel]) -> tuple[list[str], dict[str, list[str]]]:
    """What a model's own validators check beyond its JSON Schema: (model rules, field -> rules).

    Each validator's docstring is its rule (tests/unit/test_contract.py fails on one without)."""
    decorators = model.__pydantic_decorators__
    own = [d.func for d in decorators.model_validators.values()]
    model_rules = [(inspect.getdoc(f) or "").strip() for f in own]
    field_rules: dict[str, list[str]] = {}
    for d in decorators.field_validators.values():
        for name in d.info.fields:
            field_rules.setdefault(name, []).append((inspect.getdoc(d.func) or "").strip())
    return [r for r in model_rules if r], {k: [r for r in v if r] for k, v in field_rules.items()}


def _state_rules(model: type[BaseModel], components: dict[str, Any]) -> None:
    target = components.get(f"{model.__name__}-Input") or components.get(model.__name__)
    if target is None:
        return
    model_rules, field_rules = validator_rules(model)
    if model_rules:
        also = "Also checked (400 `VALIDATION_FAILED`): " + " ".join(model_rules)
        target["description"] = (target.get("description", "") + "\n\n" + also).strip()
    for name, rules in field_rules.items():
        prop = target.get("properties", {}).get(model.model_fields[name].alias or name)
        if prop is not None and rules:
            prop["description"] = (prop.get("description", "") + " " + " ".join(rules)).strip()


def _parameters(route: template.Route, s: Any) -> list[dict[str, Any]]:
    declared = {p["name"]: p for p in (_model_parameters(s.path, "path") if s.path is not None else [])}
    params: list[dict[str, Any]] = [
        declared.get(n) or {"name": n, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for n in re.findall(r"{(\w+\+?)}", route.path)
    ]
    if s.query is not None:
        params += _model_parameters(s.query, "query")
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


def _error_schema(codes: set[str]) -> dict[str, Any]:
    """The error body with ``error.code`` limited to the codes this operation answers with at this status."""
    only = {"properties": {"error": {"properties": {"code": {"enum": sorted(codes)}}}}}
    return {"allOf": [{"$ref": "#/components/schemas/Error"}, only]}


def _responses(s: Any, handler: Any, ref: SchemaRef) -> dict[str, Any]:
    if s.content_type == "application/json":
        content = {"application/json": {"schema": ref(s.response, "serialization")}} if s.response else {}
    else:
        content = {s.content_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(s.status): {"description": "OK", "content": content}}
    for status, what in getattr(s, "also", ()):
        responses[str(status)] = {"description": what, "content": content}
    why = dict(ERROR_RESPONSES)
    for status, codes in error_codes.operation_codes(handler).items():
        text = why[str(status)]
        if status == 413:
            text = f"Body over {max_body_bytes()} bytes"
        responses[str(status)] = {
            "description": f"{text}: " + ", ".join(f"`{c}`" for c in sorted(codes)),
            "content": {"application/json": {"schema": _error_schema(codes)}},
        }
    return responses


def operation_ids(routes: list[template.Route]) -> dict[template.Route, str]:
    """The function's name; a function with several routes names the others by their last segment."""
    out: dict[template.Route, str] = {}
    by_function: dict[str, list[template.Route]] = {}
    for r in routes:
        by_function.setdefault(r.function, []).append(r)
    for function, rs in by_function.items():
        base = function.removesuffix("Function")
        first, *others = sorted(rs, key=lambda r: (len(r.path), r.path, r.method))
        out[first] = base
        for r in others:
            last = r.path.rstrip("/").rsplit("/", 1)[-1].strip("{}+")
            out[r] = base + "".join(w[:1].upper() + w[1:] for w in last.replace("-", "_").split("_"))
    return out


def _operation(route: template.Route, handler: Any, ref: SchemaRef, operation_id: str) -> dict[str, Any]:
    s = handler.spec
    op: dict[str, Any] = {
        "operationId": operation_id,
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
    elif s.auth.kind == "portal":
        op["security"] = [{"portalBearer": []}]
        op["x-portal-staff-of"] = list(s.auth.staff_of)
    elif s.auth.kind == "ops":
        op["security"] = [{"opsBearer": []}]
        op["x-roles"] = [*s.auth.roles, "admin"]
    for model in (s.query, s.path):
        rules = validator_rules(model)[0] if model is not None else []
        if rules:
            also = "Also checked (400 `VALIDATION_FAILED`): " + " ".join(rules)
            op["description"] = (op.get("description", "") + "\n\n" + also).strip()
    if s.body is not None:
        op["requestBody"] = {
            "required": True,
            "description": f"JSON, at most {max_body_bytes()} bytes (a larger body is 413 `PAYLOAD_TOO_LARGE`).",
            "content": {"application/json": {"schema": ref(s.body, "validation")}},
        }
    op["responses"] = _responses(s, handler, ref)
    return op


def operations() -> dict[template.Route, Any]:
    """Every operation by its route: a router's operations (one proxy route) each under its own path."""
    out: dict[template.Route, Any] = {}
    for r in template.routes():
        handler = _handler_of(r.handler)
        for (method, path), h in getattr(handler, "routes", {}).items():
            out[template.Route(r.function, method, path, r.handler)] = h
        if not hasattr(handler, "routes"):
            out[r] = handler
    return dict(sorted(out.items(), key=lambda kv: (kv[0].path, kv[0].method)))


def _routed_ids(handlers: dict[template.Route, Any]) -> dict[template.Route, str]:
    """Router operations are named by the function and the operation (ProviderPortalAccept)."""
    out = {}
    for r, h in handlers.items():
        if getattr(h.spec, "route", None) is not None:
            name = h.spec.operation_id.rsplit(".", 1)[-1]
            out[r] = r.function.removesuffix("Function") + "".join(w.capitalize() for w in name.split("_"))
    return out


def build() -> dict[str, Any]:
    handlers = operations()
    specs = {r: h.spec for r, h in handlers.items()}
    components, ref = _schemas(specs)
    paths: dict[str, Any] = {}
    routed = _routed_ids(handlers)
    ids = {**operation_ids([r for r in handlers if r not in routed]), **routed}
    for r, h in handlers.items():
        paths.setdefault(r.path, {})[r.method.lower()] = _operation(r, h, ref, ids[r])
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
