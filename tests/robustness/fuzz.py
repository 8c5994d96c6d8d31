"""Schemathesis against the generated OpenAPI document, with valid credentials on every request.

``infra.openapi.build()`` is the document (the same one ``make openapi`` writes), so every route
template.yaml declares is exercised, including routes added after openapi.json was last written.
The four ``X-Pc-*`` signature headers are removed from the operations' parameters: they are the
``partnerSignature`` security scheme, and the runner signs every prepared request itself (fresh
nonce), so a generated case reaches the handler instead of stopping at 401.

Checks on every response:
  - no 5xx,
  - every refusal (4xx) carries the error body ``{"error": {"code": str, "message": str}}``,
  - schemathesis: status code documented, content type documented, body matches the documented
    schema, and negative (schema-invalid) input is refused with a 4xx.
Failures are collected (not raised one by one) so a run lists every problem it found.
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from schemathesis import GenerationMode, Response
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from infra import openapi

SIGNED_HEADERS = {h.lower() for h in openapi.SIGNED_HEADERS}
SCHEMA_CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Refusals negative data may legitimately meet besides 400: auth, not found, conflict, size, rule.
NEGATIVE_OK = [400, 401, 403, 404, 409, 413, 422]


class Sender(Protocol):
    base_url: str

    def send(self, prepared: requests.PreparedRequest) -> Response | None: ...


class HttpSender:
    """Over HTTP to the local cloud (loopback only), one keep-alive session."""

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        from tests.robustness.auth import assert_loopback

        assert_loopback(base_url)
        self.base_url = base_url
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # never a proxy: the API is on 127.0.0.1

    def send(self, prepared: requests.PreparedRequest) -> Response | None:
        resp = self.session.send(prepared, timeout=self.timeout, allow_redirects=False)
        return Response.from_requests(resp, verify=True)


@dataclass
class Finding:
    operation: str
    check: str
    status: int
    detail: str
    request: str
    response: str

    def key(self) -> tuple[str, str, int]:
        return (self.operation, self.check, self.status)


@dataclass
class OpStats:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    unroutable: int = 0
    generation_errors: list[str] = field(default_factory=list)

    @property
    def reached_handler(self) -> int:
        """Answers that were not an authentication refusal (so the handler ran its own checks)."""
        return self.cases - self.statuses.get(401, 0)


@dataclass
class FuzzResult:
    label: str
    stats: dict[str, OpStats] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)

    @property
    def cases(self) -> int:
        return sum(s.cases for s in self.stats.values())

    def unique_findings(self) -> list[Finding]:
        seen: dict[tuple[str, str, int], Finding] = {}
        for f in self.findings:
            seen.setdefault(f.key(), f)
        return sorted(seen.values(), key=lambda f: f.key())

    def status_totals(self) -> Counter[int]:
        total: Counter[int] = Counter()
        for s in self.stats.values():
            total.update(s.statuses)
        return total


def document() -> dict[str, Any]:
    """The generated OpenAPI document, read as 3.1, without security (the runner adds it)."""
    doc = copy.deepcopy(openapi.build())
    # The component schemas are pydantic's JSON Schema 2020-12 (numeric exclusiveMinimum, "type":
    # "null" in anyOf), which is OpenAPI 3.1's dialect, not 3.0's: read the document as 3.1.
    doc["openapi"] = "3.1.0"
    # Credentials are added to the prepared request by the runner; a generator that also drops or
    # mangles them would only test the runner.
    doc.get("components", {}).pop("securitySchemes", None)
    for item in doc["paths"].values():
        for op in item.values():
            op.pop("security", None)
            params = []
            for p in op.get("parameters", []):
                if p["in"] == "header" and p["name"].lower() in SIGNED_HEADERS:
                    continue
                params.append(p)
            op["parameters"] = params
    return doc


def auth_kinds() -> dict[str, str]:
    """``"POST /quotes" -> "channel"``: who may call each operation (from the handlers' specs)."""
    return {f"{r.method} {r.path}": h.spec.auth.kind for r, h in openapi.operations().items()}


def load_schema(doc: dict[str, Any] | None = None) -> Any:
    """A schemathesis schema; negative input may be refused with any of ``NEGATIVE_OK``."""
    config = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": NEGATIVE_OK}}})
    return schemathesis.openapi.from_dict(doc or document(), config=config)


def operations(schema: Any) -> list[Any]:
    out = [r.ok() for r in schema.get_all_operations()]
    return sorted(out, key=lambda o: (o.path, o.method.upper()))


def negatable(op: Any) -> bool:
    """Schema-invalid input exists: a body, a query or a header parameter (a string path
    parameter accepts every string, so there is nothing negative to generate for it)."""
    raw = op.definition.raw
    if raw.get("requestBody"):
        return True
    return any(p.get("in") in ("query", "header") for p in raw.get("parameters", []))


def label(op: Any) -> str:
    return f"{op.method.upper()} {op.path}"


def _excerpt(data: Any, limit: int = 300) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    text = data if isinstance(data, str) else json.dumps(data, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."


class _HasContent(Protocol):
    content: bytes


def error_body_problem(resp: _HasContent) -> str | None:
    """A refusal must use ``{"error": {"code": str, "message": str, "details"?: any}}``."""
    try:
        body = json.loads(resp.content or b"")
    except ValueError:
        return "the body is not JSON"
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return "no 'error' object"
    if not isinstance(err.get("code"), str) or not err["code"]:
        return "error.code missing or not a string"
    if not isinstance(err.get("message"), str) or not err["message"]:
        return "error.message missing or not a string"
    return None


def prepare(case: Any, base_url: str, auth: requests.auth.AuthBase | None) -> requests.PreparedRequest:
    kw = case.as_transport_kwargs(base_url=base_url)
    req = requests.Request(
        method=kw["method"],
        url=kw["url"],
        headers=kw.get("headers"),
        params=kw.get("params"),
        json=kw.get("json"),
        data=kw.get("data"),
        files=kw.get("files"),
        auth=auth,
    )
    return req.prepare()


def examine(
    case: Any, resp: Response, stats: OpStats, findings: list[Finding], prepared: requests.PreparedRequest
) -> None:
    op = label(case.operation)
    stats.cases += 1
    stats.statuses[resp.status_code] += 1
    req_text = f"{prepared.method} {prepared.path_url} body={_excerpt(prepared.body)}"
    resp_text = _excerpt(resp.content)

    def add(check: str, detail: str) -> None:
        findings.append(Finding(op, check, resp.status_code, detail, req_text, resp_text))

    if resp.status_code >= 500:
        add("no 5xx", f"server error {resp.status_code}")
    if resp.status_code >= 400:
        problem = error_body_problem(resp)
        if problem:
            add("refusal uses the error body", problem)
    try:
        case.validate_response(resp, checks=SCHEMA_CHECKS)
    except FailureGroup as group:
        for failure in group.exceptions:
            title = getattr(failure, "title", type(failure).__name__)
            add(f"schemathesis: {title}", _excerpt(getattr(failure, "message", str(failure)), 400))


def use_known(case: Any, known: dict[str, str]) -> None:
    params = dict(case.path_parameters or {})
    for name in params:
        if name in known:
            params[name] = known[name]
    case.path_parameters = params
    if isinstance(case.body, dict):
        body = dict(case.body)
        for name in body:
            if name in known and isinstance(body[name], str):
                body[name] = known[name]
        case.body = body


def _case_runner(
    name: str,
    mode: GenerationMode,
    sender: Sender,
    auth: requests.auth.AuthBase | None,
    stats: OpStats,
    findings: list[Finding],
    known: dict[str, str] | None,
) -> Callable[[Any], None]:
    """What hypothesis runs for each generated case of one operation and mode."""
    counter = [0]

    def one(case: Any) -> None:
        counter[0] += 1
        if known and counter[0] % 2 == 1:
            use_known(case, known)
        prepared = prepare(case, sender.base_url, auth)
        try:
            resp = sender.send(prepared)
        except requests.RequestException as exc:  # no answer at all (timeout, reset)
            stats.cases += 1
            stats.statuses[0] += 1
            req_text = f"{prepared.method} {prepared.path_url} body={_excerpt(prepared.body)}"
            findings.append(Finding(name, "an answer", 0, type(exc).__name__, req_text, ""))
            return
        if resp is None:
            stats.unroutable += 1
            return
        examine(case, resp, stats, findings, prepared)

    del mode  # part of the signature so each runner is built for one mode explicitly
    return one


AuthFor = Callable[[Any], "requests.auth.AuthBase | None"]


def run(
    schema: Any,
    sender: Sender,
    auth_for: AuthFor,
    *,
    result_label: str,
    examples: int,
    modes: Iterable[GenerationMode] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    only: Callable[[Any], bool] | None = None,
    budget_seconds: float | None = None,
    derandomize: bool = True,
    before_operation: Callable[[Any], None] | None = None,
    known: dict[str, str] | None = None,
    skip_positive: set[str] | frozenset[str] = frozenset(),
) -> FuzzResult:
    """Generate ``examples`` cases per operation and mode, send them, examine every answer.

    ``known`` maps path parameter and top-level body field names to values of objects that
    exist (a policy number, a contracted product code). Every other *positive* case uses them,
    so generated calls get past "not found" / "no contract" into the handler's own rules;
    negative cases are sent exactly as generated.
    """
    result = FuzzResult(result_label)
    t0 = time.monotonic()
    ops = [op for op in operations(schema) if only is None or only(op)]
    for op in ops:
        name = label(op)
        if budget_seconds is not None and time.monotonic() - t0 > budget_seconds:
            result.skipped.append(name)
            continue
        if before_operation is not None:
            before_operation(op)
        stats = result.stats.setdefault(name, OpStats())
        auth = auth_for(op)
        for mode in modes:
            if mode == GenerationMode.NEGATIVE and not negatable(op):
                continue
            if mode == GenerationMode.POSITIVE and name in skip_positive:
                continue

            one = _case_runner(
                name, mode, sender, auth, stats, result.findings, known if mode == GenerationMode.POSITIVE else None
            )
            test = given(case=op.as_strategy(generation_mode=mode))(one)
            test = settings(
                max_examples=examples,
                database=None,
                deadline=None,
                derandomize=derandomize,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
                verbosity=Verbosity.quiet,
            )(test)
            try:
                test()
            except Exception as exc:  # generation trouble, never a finding about the API
                stats.generation_errors.append(f"{mode.value}: {type(exc).__name__}: {_excerpt(str(exc), 200)}")
    result.seconds = time.monotonic() - t0
    return result


def section_body(result: FuzzResult, known: Callable[[Finding], Any], intro: str) -> str:
    """Markdown for the bench file: coverage, answers, every distinct finding (known bugs marked)."""
    from tests.robustness import report

    totals = result.status_totals()
    reached = sum(s.reached_handler for s in result.stats.values())
    gen_errors = sorted(n for n, s in result.stats.items() if s.generation_errors)
    lines = [
        intro,
        "",
        f"{len(result.stats)} operations, {result.cases} generated requests in {result.seconds:.0f} s "
        f"({reached} past authentication); answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(totals.items())) + ".",
    ]
    if result.skipped:
        lines.append(f"Not reached within the time budget: {len(result.skipped)} operations.")
    if gen_errors:
        lines.append(f"Schemathesis could not generate for: {', '.join(gen_errors)}.")
    found = result.unique_findings()
    lines.append("")
    if not found:
        lines.append("No findings: no 5xx, every refusal used the error body, every answer matched its schema.")
        return "\n".join(lines)
    rows = []
    for f in found:
        bug = known(f)
        rows.append(
            [
                f.operation,
                f.check,
                f.status,
                f"known bug `{bug.id}`" if bug else "**new**",
                f"`{f.request[:160]}`",
                f"`{f.response[:160]}`",
            ]
        )
    lines.append(
        report.table(["operation", "check", "status", "status of the finding", "request", "response"], rows, "llrlll")
    )
    return "\n".join(lines)


def unknown_findings(result: FuzzResult) -> list[Finding]:
    """Findings that match no known, reported bug."""
    from tests.robustness import known_bugs

    return [f for f in result.unique_findings() if known_bugs.match(f) is None]


def record_section(key: str, result: FuzzResult, intro: str) -> None:
    """The run's section of bench/results/robustness.md."""
    from tests.robustness import known_bugs, report
    from tests.robustness.config import BUDGET

    found = result.unique_findings()
    bugs = sorted({b.id: known_bugs.describe(b) for f in found if (b := known_bugs.match(f))}.items())
    report.record(
        report.Section(
            key=key,
            mode=BUDGET.mode,
            command=report.command(),
            cases=result.cases,
            failures=len(found),
            known_bugs=[text for _, text in bugs],
            body=section_body(result, known_bugs.match, intro),
        )
    )
