"""DynamoDB round trips of every API operation and consumer the integration tests invoke.

Runs `pytest tests/integration` with `tests.support.round_trips` counting each handler's calls at
botocore (signature checks, idempotency and the store alike), and writes the table: the median and
the worst successful invocation per function, what the median one did, and the goal where the
platform sets one.

    python -m tests.bench.bench_round_trips
    python -m tests.bench.bench_round_trips tests/integration/test_fulfilment.py   # a subset: printed only

A subset of the tests prints its table and leaves ``bench/RESULTS.md`` alone (its medians are not the
whole suite's).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from typing import Any

from tests.bench.common import ROOT, table, write

# The goals per operation, and why the calls left above the floor cannot merge.
GOALS: dict[str, int] = {
    "QuoteFunction": 2,
    "GetPolicyFunction": 2,
    "UnderwriteFunction": 5,
    "BookAppointmentFunction": 4,
    "DispatchConsumeFunction": 4,
    "QuotaDeductFunction": 2,
}
# What each call left in a goal operation's warm path is for, and why it does not merge (yet).
WHY: dict[str, str] = {
    "QuoteFunction": "the signature's nonce (a conditional put: a replayed request must fail before anything "
    "runs); the rate-limit ADD, batched to one per tenth of the limit. Key, channel, contract and product are "
    "cached per container.",
    "GetPolicyFunction": "the nonce; one consistent Query for the policy and its balances (adjacent sort keys), "
    "made by the contract check and handed to the operation.",
    "UnderwriteFunction": "the nonce; the idempotency record's INPROGRESS put and COMPLETED update (Powertools "
    "writes them around the operation: the library cannot put them in our transaction); the insured's active "
    "policies (the product's per-insured limit); the issue transaction. The number comes from a block of 20 (one "
    "ADD per 20); routing, product and contract are read at most 5 s old.",
    "BookAppointmentFunction": "the nonce; the policy with its balances (one Query, shared with the contract "
    "check); the booking transaction (appointment, hold, outbox messages and the request's idempotency record: "
    "the answer is known before the commit, so the record goes in with the change); one delete of its outbox "
    "items after publishing them from memory.",
    "DispatchConsumeFunction": "the claim on the decision (a conditional put: one consumer per order; the "
    "stale-claim takeover and decline rounds hang on it); today's counts of the rule's providers with the "
    "appointment, its open work order, its webhook version and the rules' head (one BatchGetItem: the counters "
    "are read by key, not by Query; a head moved since the rules were cached means deciding again on the new "
    "ones); the decision with its slot, the chosen provider's standing and fulfilment's assignment (one "
    "transaction, held by the appointment's state and version and by its lock being free instead of by taking "
    "the lock; the provider's configuration comes from the container's list, at most 10 s old, and the "
    "transaction's conditions on its account and configuration version honour a suspension or a change at "
    "once); the outbox delete after publishing from memory (the transactional outbox: a crash between commit "
    "and publish leaves the messages to the sweeper). Orders with items, a refused transaction and redelivered "
    "messages take the two-step way (settle, then the assignment under the order's lock).",
    "QuotaDeductFunction": "the happy path is one transaction whose conditions check everything; the two reads "
    "counted in the median are the tests' duplicates and refusals telling which it was.",
}
SHORT = {
    "GetItem": "get",
    "PutItem": "put",
    "UpdateItem": "update",
    "DeleteItem": "delete",
    "Query": "query",
    "TransactWriteItems": "transact",
    "BatchGetItem": "batch-get",
    "TransactGetItems": "transact-get",
}


def observe(paths: Sequence[str] = ("tests/integration",)) -> dict[str, list[dict[str, int]]]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "PETCOVER_ROUND_TRIPS": out.name}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "tests.support.round_trips"]
        subprocess.run([*cmd, *paths], cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
        return json.loads(out.read()) if os.path.getsize(out.name) else {}


def routes() -> dict[str, str]:
    from infra import template

    out: dict[str, str] = {}
    for name, res in template.functions().items():
        for event in (res["Properties"].get("Events") or {}).values():
            props = event.get("Properties") or {}
            kind = event["Type"]
            out[name] = f"{props['Method'].upper()} {props['Path']}" if kind == "Api" else kind.lower()
    return out


def rows(observed: dict[str, list[dict[str, int]]]) -> list[list[Any]]:
    where = routes()
    out = []
    for name, calls in sorted(observed.items(), key=lambda kv: where.get(kv[0], "~") + kv[0]):
        totals = [sum(c.values()) for c in calls]
        median = statistics.median_low(totals)
        typical = Counter(next(c for c in calls if sum(c.values()) == median))
        kinds = ", ".join(f"{SHORT.get(k, k)} {v}" for k, v in sorted(typical.items()))
        out.append([where.get(name, "?"), name, len(calls), median, max(totals), kinds])
    return out


WARM_TESTS = "tests/integration/test_warm_round_trips.py"


def warm_rows(observed: dict[str, list[dict[str, int]]]) -> list[list[Any]]:
    """The last call of each goal operation in ``WARM_TESTS``: a container whose caches are filled."""
    where = routes()
    out = []
    for name, goal in GOALS.items():
        if not observed.get(name):
            continue
        last = Counter(observed[name][-1])
        n = sum(last.values())
        kinds = ", ".join(f"{SHORT.get(k, k)} {v}" for k, v in sorted(last.items()))
        out.append([where.get(name, "?"), name, n, kinds, goal, "meets" if n <= goal else "over"])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    subset = list(sys.argv[1:] if argv is None else argv)
    observed = observe(subset) if subset else observe()
    found = rows(observed)
    if subset:
        header = ["route", "function", "calls seen", "median", "worst", "median call did"]
        print(table(header, found))
        return 0
    missing = sorted(set(GOALS) - set(observed))
    body = [
        "Every successful invocation of a handler in `pytest tests/integration`, counted at botocore: signature",
        "checks, idempotency records and the store's calls alike. Every test starts with empty per-container",
        "caches (keys, contracts, rules), so the median mixes first calls and warm ones; the worst is a first call.",
        "",
        table(["route", "function", "calls seen", "median", "worst", "median call did"], found),
        "",
        f"The goals are for a warm container: the last of three calls of each goal operation in `{WARM_TESTS}`",
        "(which holds them to their goals):",
        "",
        table(["route", "function", "round trips", "what it did", "goal", ""], warm_rows(observe([WARM_TESTS]))),
    ]
    if missing:
        body += ["", f"Not invoked by the integration tests, so not counted here: {', '.join(missing)}."]
    body += ["", "What the calls left in each goal operation are for:", ""]
    body += [f"- `{name}`: {why}" for name, why in WHY.items()]
    title = "DynamoDB round trips per operation (every handler the tests invoke)"
    write("round_trips", title, "\n".join(body), "python -m tests.bench.bench_round_trips")
    return 0


if __name__ == "__main__":
    sys.exit(main())
