"""openapi.json states what the server enforces: error codes per operation and status, validators'
rules, path patterns, decimals, strict JSON types. (The fuzz test, tests/integration/
test_contract_fuzz.py, checks the same against the running handlers.)"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from infra import error_codes, openapi
from petcover import request_parsing
from petcover.domain.money import DecimalRules
from petcover.errors import InvalidInput
from petcover.identity import PERMISSIONS


@pytest.fixture(scope="module")
def handlers() -> dict[str, Any]:
    return {f"{r.method} {r.path}": h for r, h in openapi.operations().items()}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi.build()


def test_every_declared_code_is_one_the_project_raises(handlers):
    unknown = {op: error_codes.unknown_declarations(h) for op, h in handlers.items()}
    assert {op: codes for op, codes in unknown.items() if codes} == {}


def test_the_walk_finds_codes_in_helpers_state_machines_and_parametric_raisers(handlers):
    codes = {op: error_codes.operation_codes(h) for op, h in handlers.items()}
    assert "POLICY_NOT_FOUND" in codes["GET /policies/{number}"][404]  # behind authorization.check
    assert "ILLEGAL_TRANSITION" in codes["POST /ops/products/{code}/delist"][409]  # code=ILLEGAL_TRANSITION
    assert "CHANNEL_CHANGED" in codes["POST /ops/channels/{channelId}/close"][409]  # _save(..., code="...")
    assert "QUOTA_EXHAUSTED" in codes["POST /policies/{number}/appointments"][422]
    # the adapter's own answers follow the operation's shape (a token imported inside the function too)
    assert {"TOKEN_MISSING", "TOKEN_MALFORMED", "TOKEN_BAD_SIGNATURE"} <= codes["GET /ops/channels"][401]
    assert "BAD_SIGNATURE" not in codes["GET /ops/channels"][401]
    assert "BAD_SIGNATURE" in codes["POST /quotes"][401]
    assert "IDEMPOTENCY_KEY_REQUIRED" in codes["POST /policies"][400]
    assert "IDEMPOTENCY_KEY_REQUIRED" not in codes["POST /quotes"][400]
    assert codes["POST /quotes"][413] == {"PAYLOAD_TOO_LARGE"}


def test_each_status_lists_exactly_the_operation_s_codes(doc, handlers):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            expected = error_codes.operation_codes(handlers[f"{method.upper()} {path}"])
            for status, codes in expected.items():
                schema = op["responses"][str(status)]["content"]["application/json"]["schema"]
                listed = schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
                assert listed == sorted(codes), (method, path, status)
            assert all(c in op["responses"][str(s)]["description"] for s, cs in expected.items() for c in cs)


def test_the_body_limit_is_stated(doc):
    op = doc["paths"]["/quotes"]["post"]
    assert str(openapi.max_body_bytes()) in op["requestBody"]["description"]
    assert str(openapi.max_body_bytes()) in op["responses"]["413"]["description"]


def test_query_parameters_carry_their_limits_and_path_parameters_their_patterns(doc):
    params = {p["name"]: p for p in doc["paths"]["/work-orders"]["get"]["parameters"]}
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}
    assert params["status"]["schema"]["enum"]
    version = doc["paths"]["/ops/dispatch/rules/{version}"]["get"]["parameters"][0]
    assert version["schema"]["pattern"] == "^0*[1-9][0-9]{0,8}$"
    report = {
        p["name"]: p["schema"] for p in doc["paths"]["/ops/sla/reports/{kind}/{date}/{format}"]["get"]["parameters"]
    }
    assert report["kind"]["enum"] == ["daily", "snapshot", "summary", "stock"] and "pattern" in report["date"]


@pytest.mark.parametrize(("raw", "ok"), [("1", True), ("0042", True), ("0", False), ("abc", False), ("1" * 10, False)])
def test_the_adapter_checks_path_parameters_against_the_pattern_it_publishes(raw, ok):
    from petcover.models.dispatch import RulesVersionPath

    pattern = RulesVersionPath.model_json_schema()["properties"]["version"]["pattern"]
    assert bool(re.fullmatch(pattern, raw)) is ok
    if ok:
        request_parsing.check_path(RulesVersionPath, {"version": raw})
    else:
        with pytest.raises(InvalidInput) as refused:
            request_parsing.check_path(RulesVersionPath, {"version": raw})
        assert refused.value.code == "VALIDATION_FAILED"


def test_every_validator_of_an_input_model_states_its_rule_in_the_schema():
    specs = {r: h.spec for r, h in openapi.operations().items()}
    missing = []
    for model in openapi._input_models(specs):
        decorators = model.__pydantic_decorators__
        for d in [*decorators.model_validators.values(), *decorators.field_validators.values()]:
            if not (d.func.__doc__ or "").strip():
                missing.append(f"{model.__module__}.{model.__name__}.{d.func.__name__}")
    assert missing == [], "give each validator a docstring: it is the rule openapi.json states"


def test_a_cross_field_rule_is_in_the_schema(doc):
    text = doc["components"]["schemas"]["ClaimUpdate"]["description"]
    assert "At least one field besides reason is given." in text and "VALIDATION_FAILED" in text
    audit = {p["name"]: p for p in doc["paths"]["/ops/audit"]["get"]["parameters"]}
    assert "Exactly one of partner_id" in doc["paths"]["/ops/audit"]["get"]["description"]
    assert set(audit) >= {"partner_id", "partner_name", "request_id"}


# ---------------------------------------------------------------- decimals and strict JSON


MONEY = Annotated[Decimal, DecimalRules(2, max_digits=12, low="gt0")]
PCT = Annotated[Decimal, DecimalRules(2, low="ge0", high=100)]


class Priced(BaseModel):
    amount: MONEY
    pct: PCT = Decimal(0)
    count: int = 0
    flag: bool = False


def _schema(t: Any) -> dict[str, Any]:
    return TypeAdapter(t).json_schema(mode="validation")


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_every_string_the_decimal_pattern_allows_is_accepted(data):
    for t in (MONEY, PCT):
        pattern = _schema(t)["anyOf"][1]["pattern"]
        text = data.draw(st.from_regex(pattern, fullmatch=True).filter(lambda s: "\n" not in s))
        TypeAdapter(t).validate_python(text)


@given(st.integers(min_value=1, max_value=10**10 - 1))
def test_every_number_a_multiple_of_a_cent_is_accepted_as_that_many_cents(k):
    assert TypeAdapter(MONEY).validate_python(k * 0.01) == Decimal(k) / 100


@pytest.mark.parametrize(
    "bad", ["0", "0.00", "-1", "1.234", "1e3", " 1", 0, 0.001, True, 1e12, "10000000000", 1.7976931348623157e308]
)
def test_a_decimal_outside_the_schema_is_refused(bad):
    pattern = _schema(MONEY)["anyOf"][1]["pattern"]
    if isinstance(bad, str):
        assert not re.fullmatch(pattern, bad) or Decimal(bad) <= 0
    with pytest.raises(ValidationError):
        TypeAdapter(MONEY).validate_python(bad)


@pytest.mark.parametrize("bad", ["100.01", "101", 100.5])
def test_an_upper_limit_is_in_the_pattern_and_the_number(bad):
    schema = _schema(PCT)
    assert schema["anyOf"][0]["maximum"] == 100
    if isinstance(bad, str):
        assert not re.fullmatch(schema["anyOf"][1]["pattern"], bad)
    with pytest.raises(ValidationError):
        TypeAdapter(PCT).validate_python(bad)


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "1", "count": "3"},
        {"amount": "1", "count": 3.5},
        {"amount": "1", "flag": 0},
        {"amount": "1", "flag": "true"},
    ],
)
def test_the_adapter_takes_a_value_only_in_the_json_type_the_schema_states(body):
    with pytest.raises(InvalidInput) as refused:
        request_parsing.parse_body(Priced, json.dumps(body).encode())
    assert refused.value.code == "VALIDATION_FAILED"


def test_a_number_with_no_fraction_is_an_integer_as_in_json_schema():
    assert request_parsing.parse_body(Priced, b'{"amount": "1", "count": 3.0}').count == 3


def test_the_adapter_still_takes_a_decimal_as_string_or_number():
    parsed = request_parsing.parse_body(Priced, b'{"amount": 12.5, "pct": "7.25", "count": 3, "flag": true}')
    assert (parsed.amount, parsed.pct, parsed.count, parsed.flag) == (Decimal("12.5"), Decimal("7.25"), 3, True)


def test_the_not_only_space_pattern_is_exactly_what_strip_whitespace_keeps():
    from pydantic import StringConstraints

    strip = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True)])
    differ = [
        hex(c)
        for c in range(0x3001)
        if bool(re.search(openapi.NOT_ONLY_SPACE, chr(c))) != bool(strip.validate_python(chr(c)))
    ]
    assert differ == []


def test_the_openapi_document_states_the_permission_of_every_channel_operation(doc):
    channel_ops = {(r.method.lower(), r.path) for r, h in openapi.operations().items() if h.spec.auth.kind == "channel"}
    assert channel_ops
    for method, path in channel_ops:
        op = doc["paths"][path][method]
        permission = op.get("x-petcover-permission")
        assert permission in PERMISSIONS, (method, path)
        assert f"`{permission}`" in op["description"], (method, path)
        ends = "stays open after the contract is terminated" in op["description"]
        assert ends == (method == "get"), (method, path, op["description"])
