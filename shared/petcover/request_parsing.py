"""Reading an API Gateway event: headers, body and query, validated against the operation's models.

Strict JSON, so openapi.json says exactly what is accepted; every refusal names its fields.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from petcover.errors import InvalidInput
from petcover.models.base import Model


class NoBody(Model):
    pass


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def headers_of(event: Mapping[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in (event.get("headers") or {}).items() if v is not None}


def raw_body(event: Mapping[str, Any]) -> bytes:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(raw)
    return raw.encode() if isinstance(raw, str) else bytes(raw)


def query_of(event: Mapping[str, Any]) -> dict[str, Any]:
    multi = event.get("multiValueQueryStringParameters") or {}
    single = event.get("queryStringParameters") or {}
    out: dict[str, Any] = dict(single)
    for k, v in multi.items():
        if isinstance(v, list) and len(v) > 1:
            out[k] = v
    return out


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def parse_body(model: type[BaseModel] | None, raw: bytes) -> Any:
    if model is None:
        return NoBody()
    try:
        # As in JSON Schema, a number with no fraction (30.0, 3e1) is an integer.
        payload = json.loads(raw or b"null", parse_float=_number)
        text = json.dumps(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidInput("The body is not valid JSON.", code="MALFORMED_JSON") from None
    if payload is None:
        raise InvalidInput("A JSON body is required.", code="BODY_REQUIRED")
    try:
        # Strict JSON: a value is taken only in the JSON type the schema states ("30" is not an
        # integer, 0 is not a boolean), so openapi.json says exactly what is accepted.
        return model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise InvalidInput("Some fields are invalid.", code="VALIDATION_FAILED", details=field_errors(exc)) from None


def parse_query(model: type[BaseModel] | None, event: Mapping[str, Any]) -> Any:
    if model is None:
        return None
    try:
        return model.model_validate(query_of(event))
    except ValidationError as exc:
        raise InvalidInput(
            "Some query parameters are invalid.", code="VALIDATION_FAILED", details=field_errors(exc)
        ) from None


def check_path(model: type[BaseModel] | None, path: Mapping[str, str]) -> None:
    if model is None:
        return
    try:
        model.model_validate(dict(path))
    except ValidationError as exc:
        raise InvalidInput(
            "Some path parameters are invalid.", code="VALIDATION_FAILED", details=field_errors(exc)
        ) from None
