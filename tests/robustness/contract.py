"""Schemathesis's own engine, every phase and every check (``--checks all``), over the API in-process.

The engine sends its requests through a WSGI app (``SigningApp``) instead of the network. That app
stands for the wire: a request whose ``X-Pc-Signature`` is the placeholder ``SIGN_ME`` (the value
the engine was given for the ``partnerSignature`` scheme) is signed there, over the final method,
path, query and body bytes, with the key of the kind of partner the operation is for, so every
generated case (negative ones included) reaches the handler's own checks instead of stopping at
401; a request the engine sent without credentials or with other ones (``ignored_auth``) is passed
on untouched and must be refused. Then it becomes the API Gateway event of the routed handler
(``tests.robustness.inprocess.LambdaSender``), and the handler's answer goes back to the engine.

``known`` maps path parameter and top-level body field names to values of objects that exist;
every other generated case uses them (``map_case`` hook), so a case gets past "not found" into
the operation's logic.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import requests
import schemathesis
from requests.structures import CaseInsensitiveDict
from schemathesis.engine import events, from_schema
from schemathesis.transport.wsgi import WSGI_TRANSPORT

from infra import openapi
from tests.robustness.auth import OpsBearer, PartnerSignature
from tests.robustness.inprocess import LambdaSender

SIGN_ME = "sign-me"


def _in_process_send_takes_no_socket_settings() -> None:
    """schemathesis 4.32 passes ``max_redirects`` to werkzeug's client when it re-sends a case through
    a WSGI app (some probes do); werkzeug has no such argument. Socket-level settings mean nothing
    in-process, so they are dropped, as the transport already does for a requests session."""
    transport = type(WSGI_TRANSPORT)
    if getattr(transport.send, "_drops_socket_settings", False):
        return
    original = transport.send

    def send(self: Any, case: Any, *, session: Any = None, **kwargs: Any) -> Any:
        for name in ("max_redirects", "verify", "cert", "proxies"):
            kwargs.pop(name, None)
        return original(self, case, session=session, **kwargs)

    send._drops_socket_settings = True  # type: ignore[attr-defined]
    transport.send = send  # type: ignore[method-assign]


_in_process_send_takes_no_socket_settings()
BASE = "http://127.0.0.1/v1"
SIGNED_HEADERS = {h.lower() for h in openapi.SIGNED_HEADERS}


# A schema-valid request may still be refused for a reason the document states: the object does not
# exist (404), the contract does not allow it (403), a conflict (409), the body limit (413: a body
# the schema allows can still be over 256 KB), a business rule (422), the rate limit (429), or a
# 400 whose code is a declared rule (``stated_refusal`` judges those).
POSITIVE_REFUSALS = ["2xx", "400", "403", "404", "409", "413", "422", "429"]
# Schema-violating input must be refused: as invalid (400), or earlier, by the body limit the
# document states (413), the signature (401) or for the object or contract (403, 404, 409, 422).
NEGATIVE_REFUSALS = ["400", "401", "403", "404", "409", "413", "422", "429"]
# Checks left out, each with its reason.
EXCLUDED = {
    "unsupported_method": "API Gateway (REST) answers a method no route declares itself, with 403 "
    "`Missing Authentication Token`, before any function runs; a 405 with `Allow` needs an ANY method "
    "on every resource (about 80 more resources; the stack is near CloudFormation's 500).",
}
# pydantic error types from a model's own validators, and "date_rule" (a day or time relative to
# today, checked by the service): the rule is in the schema's description.
STATED_TYPES = {"value_error", "assertion_error", "date_rule"}


@schemathesis.check
def stated_refusal(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request refused with 400 must be refused for a rule the document states: a
    declared code other than the generic ones, or ``VALIDATION_FAILED`` from a model's own validator
    (described in the schema). A pydantic constraint failing on schema-valid input means the schema
    is missing that constraint."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    try:
        err = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError("a 400 without the error body") from None
    code = err.get("code")
    if code in ("MALFORMED_JSON", "BODY_REQUIRED"):
        raise AssertionError(f"schema-valid request refused with {code}")
    if code == "VALIDATION_FAILED":
        unstated = [d for d in err.get("details") or [] if d.get("type") not in STATED_TYPES]
        if unstated:
            raise AssertionError(f"schema-valid request refused for a constraint the schema does not state: {unstated}")
    return None


def document(known: dict[str, str] | None = None) -> dict[str, Any]:
    """openapi.json as the engine reads it: the four signature headers are the security scheme's."""
    doc = copy.deepcopy(openapi.build())
    for item in doc["paths"].values():
        for op in item.values():
            op["parameters"] = [
                p for p in op.get("parameters", []) if not (p["in"] == "header" and p["name"].lower() in SIGNED_HEADERS)
            ]
    return doc


class SigningApp:
    """WSGI app: the client's signing step (for ``SIGN_ME``), then ``send`` (the routed Lambda handler
    in-process, or the deployed API over HTTP: ``HttpForward``)."""

    def __init__(
        self,
        keys: dict[str, tuple[str, str]],
        kinds: dict[str, str],
        send: Callable[[requests.PreparedRequest], Any] | None = None,
        stand_ins: dict[str, str] | None = None,
    ) -> None:
        self.router = LambdaSender(BASE)
        # Ids of the accounts whose keys sign the run -> the ones ops calls act on instead: the stateful
        # phase follows links from ops lists to every id, and clearing out the signing channel would
        # refuse the rest of the run.
        self.stand_ins = stand_ins or {}
        self.send = send or self.router.send
        self.signers = {kind: PartnerSignature(k[0], k[1], BASE) for kind, k in keys.items()}
        self.kinds = kinds
        self.statuses: Counter[int] = Counter()
        self.by_operation: dict[str, Counter[int]] = {}

    def prepared(self, environ: dict[str, Any]) -> requests.PreparedRequest:
        raw_uri = environ.get("RAW_URI") or quote(environ.get("PATH_INFO", ""))
        if environ.get("QUERY_STRING"):
            raw_uri += "?" + environ["QUERY_STRING"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = CaseInsensitiveDict()
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").title()] = value
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        p = requests.PreparedRequest()
        p.method = environ["REQUEST_METHOD"]
        p.url = "http://127.0.0.1" + raw_uri
        p.headers = headers
        p.body = body
        return p

    def operation(self, p: requests.PreparedRequest) -> str | None:
        method = (p.method or "GET").upper()
        found = self.router.route_of(method, p.url or "")
        if not found:
            return None
        route, params = found
        handler = self.router.handler(route.handler)
        if "proxy" in params and hasattr(handler, "routes"):  # a router: name the operation it serves
            path = route.template.replace("{proxy+}", params["proxy"])
            for m, template_path in handler.routes:
                if m == method and re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template_path), path):
                    return f"{m} {template_path}"
        return f"{route.method} {route.template}"

    def standing_in(self, url: str) -> str:
        parts = urlsplit(url)
        segments = parts.path.split("/")
        swapped = [quote(self.stand_ins[unquote(s)], safe="") if unquote(s) in self.stand_ins else s for s in segments]
        return url if swapped == segments else urlunsplit(parts._replace(path="/".join(swapped)))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        p = self.prepared(environ)
        label = self.operation(p)
        signer = self.signers.get(self.kinds.get(label or "", ""))
        if signer is None and self.stand_ins:
            p.url = self.standing_in(p.url or "")
        if signer is not None and p.headers.get("X-Pc-Signature") == SIGN_ME:
            signer(p)
        resp = self.send(p)
        if resp is None:  # no route: what API Gateway answers itself
            start_response("403 Forbidden", [("Content-Type", "application/json")])
            return [json.dumps({"message": "Missing Authentication Token"}).encode()]
        self.statuses[resp.status_code] += 1
        if label:
            self.by_operation.setdefault(label, Counter())[resp.status_code] += 1
        headers = [(k, v) for k, values in resp.headers.items() for v in values]
        start_response(f"{resp.status_code} X", headers)
        return [resp.content]


class HttpForward:
    """``send`` for ``SigningApp`` over HTTP: the signed request goes to the deployed API (loopback)."""

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        from tests.robustness.fuzz import HttpSender

        self.base_url = base_url.rstrip("/")
        self.http = HttpSender(self.base_url, timeout)

    def __call__(self, p: requests.PreparedRequest) -> Any:
        p.url = self.base_url + (p.url or "")[len(BASE) :]
        return self.http.send(p)


@dataclass
class ContractResult:
    operations: set[str] = field(default_factory=set)
    cases: int = 0
    checks: Counter[str] = field(default_factory=Counter)
    failures: dict[str, list[str]] = field(default_factory=dict)  # check -> distinct failures
    errors: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def failures_by_check(self) -> dict[str, int]:
        return {name: len(found) for name, found in sorted(self.failures.items())}


def use_known(case: Any, known: dict[str, str]) -> None:
    params = dict(case.path_parameters or {})
    for name in params:
        if name in known:
            params[name] = known[name]
    case.path_parameters = params
    if isinstance(case.body, dict):
        case.body = {k: known[k] if k in known and isinstance(v, str) else v for k, v in case.body.items()}


def run(
    app: SigningApp,
    *,
    ops_token: str,
    examples: int,
    portal_token: str = "",
    known: dict[str, str] | None = None,
    seed: int = 14,
    phases: tuple[str, ...] = ("examples", "coverage", "fuzzing", "stateful"),
    only: Callable[[str], bool] | None = None,
) -> ContractResult:
    doc = document(known)
    if only is not None:
        for path, item in list(doc["paths"].items()):
            for method in list(item):
                if not only(f"{method.upper()} {path}"):
                    del item[method]
            if not item:
                del doc["paths"][path]
    config = schemathesis.Config.from_dict(
        {
            "seed": seed,
            "workers": 1,
            # Hard-to-satisfy patterns filter many drafts, and a loaded machine is slow: neither is a
            # finding about the API, so neither may end a run.
            "suppress-health-check": ["filter_too_much", "too_slow"],
            "generation": {"max-examples": examples, "database": "none"},
            "phases": {
                **{name: {"enabled": name in phases} for name in ("examples", "fuzzing", "stateful")},
                # No unexpected methods: API Gateway answers them itself (see EXCLUDED), no function runs.
                "coverage": {"enabled": "coverage" in phases, "unexpected-methods": []},
            },
            "checks": {
                "positive_data_acceptance": {"expected-statuses": POSITIVE_REFUSALS},
                "negative_data_rejection": {"expected-statuses": NEGATIVE_REFUSALS},
                **{name: {"enabled": False} for name in EXCLUDED},
            },
            "auth": {
                "openapi": {
                    "partnerSignature": {"api_key": SIGN_ME},
                    "opsBearer": {"bearer": ops_token},
                    **({"portalBearer": {"bearer": portal_token}} if portal_token else {}),
                }
            },
        }
    )
    schema = schemathesis.openapi.from_dict(doc, config=config)
    schema.app = app
    schema.config.update(base_url=BASE)
    rng = random.Random(seed)
    if known:

        @schema.hook
        def map_case(ctx: Any, case: Any) -> Any:
            if rng.random() < 0.5:
                use_known(case, known)
            return case

    result = ContractResult()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            rec = event.recorder
            result.operations.add(rec.label)
            result.cases += len(rec.interactions)
            for case_id, nodes in rec.checks.items():
                for node in nodes:
                    result.checks[node.name] += 1
                    if node.failure_info is not None:
                        f = node.failure_info.failure
                        interaction = rec.interactions.get(case_id)
                        req = ""
                        if interaction is not None:
                            r = interaction.request
                            req = f"{r.method} {r.uri} body={(r.body or b'')[:200]!r}"
                            if interaction.response is not None:
                                answer = interaction.response
                                req += f" -> {answer.status_code} {(answer.content or b'')[:300]!r}"
                        text = f"{rec.label}: {f.title} {getattr(f, 'message', '')[:300]} | {req}"
                        result.failures.setdefault(node.name, [])
                        if text not in result.failures[node.name]:
                            result.failures[node.name].append(text)
        elif isinstance(event, events.NonFatalError):
            result.errors.append(f"{event.label}: {event.info.message[:300]}")
        elif isinstance(event, events.FatalError):
            result.errors.append(f"fatal: {event.exception!r}")
    result.statuses = app.statuses
    return result


def ops_token(secret: str) -> str:
    return OpsBearer(secret=secret).token


# schemathesis's checks (``--checks all``) less ``EXCLUDED``, plus ``stated_refusal``.
CHECKS_RUN = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
    "missing_required_header",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
    "allow_header_conformance",
    "object_level_authorization",
    "stated_refusal",
)


def summary(result: ContractResult, app: SigningApp) -> str:
    past_auth = sum(n for c in app.by_operation.values() for s, n in c.items() if s != 401)
    found = {op: c for op, c in app.by_operation.items() if "{" in op}
    reached = sum(1 for c in found.values() if set(c) - {400, 401, 404})
    lines = [
        f"operations: {len(app.by_operation)}; scenarios' requests: {result.cases}; "
        f"requests answered: {sum(app.statuses.values())} ({past_auth} past authentication)",
        "answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(app.statuses.items())),
        f"operations on an object that reached its logic (an answer other than 400/401/404): {reached}/{len(found)}",
        "checks run: " + ", ".join(f"{k} {v}" for k, v in sorted(result.checks.items())),
        "failures by check: " + (", ".join(f"{k} {v}" for k, v in result.failures_by_check().items()) or "none"),
        "left out: " + "; ".join(f"{k} ({v})" for k, v in EXCLUDED.items()),
    ]
    return "\n".join(lines)


def failure_text(result: ContractResult) -> str:
    return "\n".join(f"[{check}] {text}" for check, found in result.failures.items() for text in found[:20])
