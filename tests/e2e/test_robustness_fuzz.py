"""Hostile input: schemathesis over the generated OpenAPI document, plus hand-written cases.

1. (Every operation in-process against moto: tests/integration/test_robustness_fuzz_inprocess.py.)
2. Over HTTP on the local cloud: the channel-facing operations (bounded form) or every operation
   (full form). Each operation's first call is a ~3 s cold start on the emulator, which is what
   keeps the bounded form to the channel surface.
3. Hand-written cases over HTTP: malformed JSON, wrong types, huge bodies, unicode in names,
   negative and absurd amounts, dates out of range, unknown fields, bad headers and cursors.

No 5xx, every refusal uses the error body, every answer matches its documented schema; findings
that match a known, reported bug (tests/robustness/known_bugs.py) are listed, others fail.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from petcover.client import PetcoverClient
from tests.robustness import e2e_world, fuzz, known_bugs, report
from tests.robustness.auth import OpsBearer, PartnerSignature, assert_loopback
from tests.robustness.config import BUDGET

pytestmark = [pytest.mark.e2e, pytest.mark.robustness]

# The channel-facing surface the bounded HTTP run covers: the operations the load and isolation tests
# call anyway, so the bounded form pays no extra cold start for them.
CHANNEL_SURFACE = {
    "POST /quotes",
    "POST /policies",
    "GET /policies/{number}",
    "POST /policies/{number}/claims",
    "GET /claims/{claimNumber}",
    "POST /policies/{number}/appointments",
}
# Generated *valid* writes to global configuration would replace what every other test relies on
# (the dispatch rule set, SLA targets): over HTTP they get negative input only; in-process, both.
GLOBAL_CONFIG = {"PUT /ops/dispatch/rules", "PUT /ops/sla/config"}


@pytest.fixture(scope="module")
def world(stack):
    return e2e_world.build(stack)


@pytest.fixture(scope="module")
def known_objects(stack, world) -> dict[str, str]:
    """Objects that exist, for generated path parameters and body fields (see fuzz.run ``known``)."""
    shop = PetcoverClient(stack.base, *world.shop_key, timeout=60)
    tag = uuid.uuid4().hex[:8]
    pol = shop.post(
        "/policies", json=e2e_world.underwrite_body(f"rb-fz-{tag}", f"fz-{tag}"), idempotency_key=f"fz-{tag}"
    )
    assert pol.status == 201, pol.body
    number = pol.json["number"]
    claim = shop.post(f"/policies/{number}/claims", json=e2e_world.claim_body(), idempotency_key=f"fzc-{tag}")
    assert claim.status == 201, claim.body
    return {
        "number": number,
        "orderId": f"rb-fz-{tag}",
        "claimNumber": claim.json["claim_number"],
        "channelId": e2e_world.TARGET,
        "partnerId": world.target_partner,
        "providerId": world.target_partner,
        "code": e2e_world.FUZZ_PRODUCT,
        "productCode": e2e_world.FUZZ_PRODUCT,
        "product_code": e2e_world.CARE,
        "plan_code": "basic",
    }


def test_operations_over_http_on_the_local_cloud(stack, world, known_objects):
    """schemathesis's engine, every phase and check (tests.robustness.contract), over HTTP: each
    generated request is signed after generation and sent to the deployed API."""
    from tests.robustness import contract
    from tests.robustness.auth import LOCAL_OPS_SECRET

    kinds = fuzz.auth_kinds()
    app = contract.SigningApp(
        {"channel": world.shop_key, "provider": world.fuzz_provider.key, "partner": world.fuzz_provider.key},
        kinds,
        send=contract.HttpForward(stack.base),
    )

    def only(label: str) -> bool:
        # Generated valid writes to global configuration would replace what other tests rely on.
        return label not in GLOBAL_CONFIG and (BUDGET.http_all_operations or label in CHANNEL_SURFACE)

    result = contract.run(
        app,
        ops_token=contract.ops_token(LOCAL_OPS_SECRET),
        examples=BUDGET.http_examples,
        known=known_objects,
        only=only,
        phases=("examples", "coverage", "fuzzing"),
    )
    print(contract.summary(result, app))
    assert result.errors == []
    assert result.failures == {}, contract.failure_text(result)
    assert result.cases > 0


# ---------------------------------------------------------------- hand-written hostile input


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str  # may hold {number} / {claim}
    body: bytes | None
    expect: tuple[int, ...]
    code: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    query: str = ""
    signer: str = "shop"  # shop | ops | provider
    idem: bool = True  # a fresh Idempotency-Key on POSTs unless the case sets its own


def _j(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


QUOTE = {"product_code": e2e_world.CARE, "plan_code": "basic", "insured": e2e_world.insured("hw", "rb-q")}
PET = e2e_world.insured("x", "rb-q")


def _uw(**changes: Any) -> dict[str, Any]:
    body = e2e_world.underwrite_body(f"rb-hw-{uuid.uuid4().hex[:10]}", f"hw-{uuid.uuid4().hex[:10]}")
    body.update(changes)
    return body


def _claim(**changes: Any) -> dict[str, Any]:
    return {**e2e_world.claim_body(), **changes}


def _raw_claim(amount_literal: str) -> bytes:
    today = time.strftime("%Y-%m-%d")
    return (
        f'{{"benefit_code":"treatment","incident_date":"{today}","incident_type":"illness","amount":{amount_literal}}}'
    ).encode()


CASES: list[Case] = [
    # malformed JSON
    Case("truncated JSON", "POST", "/quotes", b'{"product_code": "rb-care", ', (400,), "MALFORMED_JSON"),
    Case("trailing garbage after JSON", "POST", "/quotes", _j(QUOTE) + b"xyz", (400,), "MALFORMED_JSON"),
    Case("JSON array instead of object", "POST", "/quotes", b"[1,2,3]", (400,), "VALIDATION_FAILED"),
    Case("JSON string instead of object", "POST", "/quotes", b'"quote me"', (400,), "VALIDATION_FAILED"),
    Case("JSON null body", "POST", "/quotes", b"null", (400,), "BODY_REQUIRED"),
    Case("empty body", "POST", "/quotes", b"", (400,), "BODY_REQUIRED"),
    Case("not UTF-8 (Latin-1 bytes)", "POST", "/quotes", '{"product_code": "caf\u00e9"}'.encode("latin-1"), (400, 401)),
    Case("NaN literal", "POST", "/quotes", _j(QUOTE).replace(b"30", b"NaN"), (400,), "VALIDATION_FAILED"),
    Case("duplicate keys", "POST", "/quotes", b'{"plan_code":"basic","plan_code":"nope",' + _j(QUOTE)[1:], (200, 400)),
    # wrong types
    Case(
        "age as text",
        "POST",
        "/quotes",
        _j({**QUOTE, "insured": {**PET, "age_months": "thirty"}}),
        (400,),
        "VALIDATION_FAILED",
    ),
    Case("insured as a list", "POST", "/quotes", _j({**QUOTE, "insured": [PET]}), (400,), "VALIDATION_FAILED"),
    Case("plan code as a number", "POST", "/quotes", _j({**QUOTE, "plan_code": 7}), (400,), "VALIDATION_FAILED"),
    Case(
        "age as a float",
        "POST",
        "/quotes",
        _j({**QUOTE, "insured": {**PET, "age_months": 30.5}}),
        (400,),
        "VALIDATION_FAILED",
    ),
    Case("age absurdly large", "POST", "/quotes", _j({**QUOTE, "insured": {**PET, "age_months": 10**30}}), (400, 422)),
    Case("age negative", "POST", "/quotes", _j({**QUOTE, "insured": {**PET, "age_months": -1}}), (400, 422)),
    Case("boolean amount", "POST", "/policies/{number}/claims", _j(_claim(amount=True)), (400,), "VALIDATION_FAILED"),
    # huge bodies
    Case(
        "300 KB body (over the 256 KB limit)",
        "POST",
        "/quotes",
        _j({**QUOTE, "padding": "x" * 300_000}),
        (413,),
        "PAYLOAD_TOO_LARGE",
    ),
    Case("2 MB body", "POST", "/quotes", _j({**QUOTE, "padding": "x" * 2_000_000}), (413,), "PAYLOAD_TOO_LARGE"),
    Case(
        "10,000-character holder name",
        "POST",
        "/policies",
        _j(_uw(holder={"name": "N" * 10_000})),
        (400,),
        "VALIDATION_FAILED",
    ),
    Case(
        "10,000 array items",
        "POST",
        "/policies/{number}/claims",
        _j(_claim(evidence={"documents": ["d"] * 10_000})),
        (400,),
        "VALIDATION_FAILED",
    ),
    # unicode in names
    Case(
        "unicode holder name (CJK, emoji, Greek, RTL mark)",
        "POST",
        "/policies",
        _j(_uw(holder={"name": "李雷 🐶 Ωμέγα \u202eRTL"})),
        (201,),
    ),
    Case(
        "combining characters and zero-width joiner in the pet id",
        "POST",
        "/quotes",
        _j({**QUOTE, "insured": {**PET, "insured_id": "pe\u0301t\u200d-1"}}),
        (200, 400),
    ),
    Case("NUL character in the holder name", "POST", "/policies", _j(_uw(holder={"name": "Li\u0000Lei"})), (201, 400)),
    Case(
        "lone surrogate in the pet id",
        "POST",
        "/quotes",
        json.dumps({**QUOTE, "insured": {**PET, "insured_id": "\ud800x"}}).encode(),
        (400,),
        "VALIDATION_FAILED",
    ),
    Case("unicode in the path", "GET", "/policies/宠物保单", None, (404,), "POLICY_NOT_FOUND"),
    # negative and absurd amounts
    Case(
        "negative claim amount",
        "POST",
        "/policies/{number}/claims",
        _j(_claim(amount="-10.00")),
        (400,),
        "VALIDATION_FAILED",
    ),
    Case("zero claim amount", "POST", "/policies/{number}/claims", _j(_claim(amount="0")), (400,), "VALIDATION_FAILED"),
    Case(
        "claim amount 10^20",
        "POST",
        "/policies/{number}/claims",
        _j(_claim(amount="100000000000000000000")),
        (400,),
        "VALIDATION_FAILED",
    ),
    Case(
        "claim amount with 3 decimals",
        "POST",
        "/policies/{number}/claims",
        _j(_claim(amount="10.005")),
        (400,),
        "VALIDATION_FAILED",
    ),
    Case(
        "claim amount 'NaN'", "POST", "/policies/{number}/claims", _j(_claim(amount="NaN")), (400,), "VALIDATION_FAILED"
    ),
    Case(
        "claim amount 'Infinity'",
        "POST",
        "/policies/{number}/claims",
        _j(_claim(amount="Infinity")),
        (400,),
        "VALIDATION_FAILED",
    ),
    Case(
        "claim amount 1e400 literal",
        "POST",
        "/policies/{number}/claims",
        _raw_claim("1e400"),
        (400,),
        "VALIDATION_FAILED",
    ),
    Case(
        "claim amount above the plan limit",
        "POST",
        "/policies/{number}/claims",
        _j(_claim(amount="999999.00")),
        (201, 422),
    ),
    # dates out of range
    Case("start date in 1900", "POST", "/policies", _j(_uw(start_date="1900-01-01")), (400,), "VALIDATION_FAILED"),
    Case("start date 9999-12-31", "POST", "/policies", _j(_uw(start_date="9999-12-31")), (400,), "VALIDATION_FAILED"),
    Case("start date February 30", "POST", "/policies", _j(_uw(start_date="2026-02-30")), (400,), "VALIDATION_FAILED"),
    Case("start date not a date", "POST", "/policies", _j(_uw(start_date="tomorrow")), (400,), "VALIDATION_FAILED"),
    Case(
        "incident date in the future",
        "POST",
        "/policies/{number}/claims",
        _j(_claim(incident_date="2999-01-01")),
        (400, 422),
    ),
    # Accepted, then refused by the assessment rules (incident outside the policy term).
    Case(
        "incident date year 1",
        "POST",
        "/policies/{number}/claims",
        _j(_claim(incident_date="0001-01-01")),
        (201, 400, 422),
    ),
    # Only the shape is checked (\d{4}-\d{2}): month 13 answers 200 with no rows. Harmless, noted.
    Case(
        "statistics month 13",
        "GET",
        "/ops/statistics",
        None,
        (200, 400),
        query="start=2026-13&end=2026-13",
        signer="ops",
    ),
    # unknown fields
    Case("unknown top-level field", "POST", "/quotes", _j({**QUOTE, "is_admin": True}), (400,), "VALIDATION_FAILED"),
    Case("client-chosen premium", "POST", "/policies", _j(_uw(premium="0.01")), (400,), "VALIDATION_FAILED"),
    Case(
        "unknown nested field",
        "POST",
        "/quotes",
        _j({**QUOTE, "insured": {**PET, "vaccinated": True}}),
        (400,),
        "VALIDATION_FAILED",
    ),
    Case(
        "unknown field on an ops create",
        "POST",
        "/ops/channels",
        _j({"id": "rb-unknown", "name": "x", "callback_url": "http://127.0.0.1:9/h", "owner": "me"}),
        (400,),
        "VALIDATION_FAILED",
        signer="ops",
        headers=(("Idempotency-Key", "rb-unknown-field"),),
    ),
    # headers
    Case(
        "Idempotency-Key of 129 characters",
        "POST",
        "/policies",
        _j(_uw()),
        (400,),
        "INVALID_IDEMPOTENCY_KEY",
        headers=(("Idempotency-Key", "k" * 129),),
    ),
    Case(
        "no Idempotency-Key on a create", "POST", "/policies", _j(_uw()), (400,), "IDEMPOTENCY_KEY_REQUIRED", idem=False
    ),
    Case(
        "form-encoded content type with a JSON body",
        "POST",
        "/quotes",
        _j(QUOTE),
        (200, 400, 415),
        headers=(("Content-Type", "application/x-www-form-urlencoded"),),
    ),
    Case(
        "limit of -1 on a list",
        "GET",
        "/ops/webhooks/dead-letters",
        None,
        (400,),
        "VALIDATION_FAILED",
        query="limit=-1",
        signer="ops",
    ),
    Case(
        "limit of 10^9 on a list",
        "GET",
        "/ops/webhooks/dead-letters",
        None,
        (400, 200),
        query="limit=1000000000",
        signer="ops",
    ),
]


@pytest.fixture(scope="module")
def hostile(stack, world) -> dict[str, Any]:
    assert_loopback(stack.base)
    shop = PetcoverClient(stack.base, *world.shop_key, timeout=60)
    tag = uuid.uuid4().hex[:8]
    pol = shop.post(
        "/policies", json=e2e_world.underwrite_body(f"rb-hw-{tag}", f"hw-{tag}"), idempotency_key=f"hw-{tag}"
    )
    assert pol.status == 201, pol.body
    session = requests.Session()
    session.trust_env = False
    return {
        "number": pol.json["number"],
        "session": session,
        "results": [],
        "signers": {
            "shop": PartnerSignature(world.shop_key[0], world.shop_key[1], stack.base),
            "ops": OpsBearer(),
            "provider": PartnerSignature(world.fuzz_provider.key[0], world.fuzz_provider.key[1], stack.base),
        },
    }


_hostile_results: list[tuple[str, str, str, bool]] = []


def _send(
    stack: Any,
    hostile: dict[str, Any],
    method: str,
    path: str,
    body: bytes | None,
    signer: str,
    headers: dict[str, str],
    query: str = "",
    idem: bool = True,
) -> requests.Response:
    url = stack.base + path.replace("{number}", hostile["number"]) + (f"?{query}" if query else "")
    hdrs = {"Content-Type": "application/json", **headers}
    if idem and method == "POST" and "Idempotency-Key" not in hdrs:
        hdrs["Idempotency-Key"] = f"hw-{uuid.uuid4().hex}"
    req = requests.Request(
        method, url, data=body if body is not None else None, headers=hdrs, auth=hostile["signers"][signer]
    )
    return hostile["session"].send(req.prepare(), timeout=60)


def _code(resp: requests.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body.get("error", {}).get("code") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hand_written_hostile_input(stack, hostile, case: Case):
    resp = _send(
        stack, hostile, case.method, case.path, case.body, case.signer, dict(case.headers), case.query, case.idem
    )
    code = _code(resp)
    problems = []
    if resp.status_code >= 500:
        problems.append(f"server error {resp.status_code}")
    if resp.status_code not in case.expect:
        problems.append(f"status {resp.status_code}, expected one of {case.expect}")
    if case.code and code != case.code:
        problems.append(f"code {code}, expected {case.code}")
    if resp.status_code >= 400 and fuzz.error_body_problem(_as_response(resp)):
        problems.append(f"refusal without the error body: {resp.text[:200]}")
    if case.name.startswith("unicode holder name") and resp.status_code == 201:
        shop = PetcoverClient(stack.base, *_shop_key(stack), timeout=60)
        stored = shop.get(f"/policies/{resp.json()['number']}").json["holder"]["name"]
        if stored != "李雷 🐶 Ωμέγα \u202eRTL":
            problems.append(f"name came back as {stored!r}")
    _hostile_results.append(
        (
            case.name,
            "/".join(map(str, case.expect)) + (f" {case.code}" if case.code else ""),
            f"{resp.status_code} {code or ''}".strip(),
            not problems,
        )
    )
    assert not problems, f"{case.name}: {'; '.join(problems)}: {resp.text[:300]}"


def _shop_key(stack: Any) -> tuple[str, str]:
    return e2e_world.build(stack).shop_key


def _as_response(resp: requests.Response) -> Any:
    class _R:
        content = resp.content

    return _R()


def test_deeply_nested_json_is_refused_as_malformed(stack, hostile):
    """Regression for the suite's finding `deep-json` (500 on RecursionError), fixed in e80abc5."""
    results = []
    for name, body in (("50,000 nested arrays", b"[" * 50_000), ("20,000 nested objects", b'{"a":' * 20_000)):
        resp = _send(stack, hostile, "POST", "/quotes", body, "shop", {})
        results.append((name, resp.status_code, _code(resp)))
        ok = (resp.status_code, _code(resp)) == (400, "MALFORMED_JSON")
        _hostile_results.append((f"deep JSON: {name}", "400 MALFORMED_JSON", f"{resp.status_code} {_code(resp)}", ok))
    assert all((status, code) == (400, "MALFORMED_JSON") for _, status, code in results), results


def test_a_malformed_pagination_cursor_is_refused_as_bad_input(stack, hostile):
    """Regression for the suite's finding `bad-cursor` (500 on a cursor we did not give out), fixed in e80abc5."""
    results = []
    for path, signer, query in (
        ("/ops/webhooks/dead-letters", "ops", "cursor=!!!"),
        ("/ops/webhooks/dead-letters", "ops", "cursor=eyJ4IjoxfQ%3D%3D"),  # base64 of {"x":1}: not a key
        ("/ops/dispatch/manual-queue", "ops", "cursor=%F0%9F%90%B6"),
        ("/work-orders", "provider", "cursor=AAAA"),
        # Shaped like a key we give out, but not one (no sort key, wrong index): DynamoDB refuses it.
        ("/ops/webhooks/dead-letters", "ops", "cursor=eyJwayI6IHsiUyI6ICJXSERFQUQifX0%3D"),
    ):
        resp = _send(stack, hostile, "GET", path, None, signer, {}, query)
        results.append((path, query, resp.status_code, _code(resp)))
        _hostile_results.append(
            (
                f"bad cursor: GET {path}?{query}",
                "400 INVALID_CURSOR",
                f"{resp.status_code} {_code(resp) or ''}",
                (resp.status_code, _code(resp)) == (400, "INVALID_CURSOR"),
            )
        )
    assert all((r[2], r[3]) == (400, "INVALID_CURSOR") for r in results), results


def test_zz_hostile_report(stack):
    rows = [[name, expected, got, "ok" if ok else "**FAILED**"] for name, expected, got, ok in _hostile_results]
    failures = sum(1 for *_, ok in _hostile_results if not ok)
    fixed = "; ".join(f"`{b.id}` ({b.owner})" for b in known_bugs.FIXED if b.fixed_in == "e80abc5")
    body = "\n".join(
        [
            report.table(["case", "expected", "got", "result"], rows, "llll"),
            "",
            f"Found by this suite and fixed upstream while it was written (commit e80abc5): {fixed}. The deep JSON "
            "and bad cursor cases above are their regression tests.",
        ]
    )
    report.record(
        report.Section(
            key="hostile",
            mode=BUDGET.mode,
            command=report.command(),
            cases=len(_hostile_results),
            failures=failures,
            body=body,
        )
    )
    # The report is written either way; the test fails when what it reports is a failure.
    assert _hostile_results, "no hostile-input case ran before the report: it would report nothing"
    assert failures == 0, "\n".join(f"{n}: expected {e}, got {g}" for n, e, g, ok in _hostile_results if not ok)
