"""Instant claims through the local cloud: a return-shipping claim from its submission to the signed
``claim.paid`` webhook received at the local sink, p50 and p95 over 200 claims, next to the trivial
route's p50 measured in the same run.

    python -m tests.bench.bench_claims [--claims 200]

Each claim is submitted over HTTP (signed, idempotent) and the next one only once the sink has the
previous one's ``claim.paid``: the figure is the latency a channel's customer sees, not a backlog.
The path: SubmitClaimFunction commits the claim with its decision request (outbox) -> ClaimDecisionQueue
-> ClaimDecideFunction decides, approves and pays -> WebhookQueue -> WebhookDeliverFunction -> sink.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.bench.common import local_cloud, summary_ms, table, write

GOAL_P95_MS = 3000.0
WAIT_SECONDS = 120.0  # one claim's budget before the run gives up on it (a failure, not a figure)
WARM_WAIT_SECONDS = 600.0  # the first claims also wait for every function's cold start


class SinkLog:
    """Reads the sink's JSON-lines file as it grows: the ``claim.paid`` webhooks and when they came."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0
        self.paid_at: dict[str, float] = {}
        self.rule: dict[str, str] = {}

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for the next poll
        self.offset += len(complete)
        for line in complete.splitlines():
            entry = json.loads(line)
            if not entry["path"].startswith("/hooks/") or entry["answered"] >= 400:
                continue
            event = json.loads(entry["body"])
            if event.get("event_type") == "claim.paid":
                number = event["object_id"]
                self.paid_at.setdefault(number, float(entry["at"]))
                self.rule[number] = ((event.get("data") or {}).get("decision") or {}).get("rule", "")

    def wait_for(self, number: str, timeout: float = WAIT_SECONDS) -> float:
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.poll()
            if number in self.paid_at:
                return self.paid_at[number]
            time.sleep(0.01)
        raise RuntimeError(f"no claim.paid webhook for {number} within {timeout:.0f} s")


def _policies(p: Any, channel: str, n: int) -> list[str]:
    """Return-shipping policies written in-process straight into the emulator's table (setup)."""
    from petcover.identity import Principal
    from petcover.models.policies import UnderwriteRequest
    from petcover.services import policies

    who = Principal("channel", channel)

    def one(i: int) -> str:
        order = f"bench-rs-{i}-{uuid.uuid4().hex[:8]}"
        req = UnderwriteRequest.model_validate(
            {
                "product_code": "return-shipping",
                "plan_code": "standard",
                "insured": {"insured_id": f"order-{order}"},
                "channel_order_id": order,
                "holder": {"name": "Bench"},
            }
        )
        return policies.underwrite(p, who, req).number

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(n)))


def _claim_body() -> dict[str, Any]:
    return {
        "incident_date": time.strftime("%Y-%m-%d", time.gmtime()),
        "incident_type": "return_shipment",
        "amount": "12.00",
        "evidence": {"tracking_number": f"SF{uuid.uuid4().int % 10**12:012d}"},
    }


def _submit(client: Any, number: str) -> tuple[str, float, float]:
    """(claim number, wall-clock start, ms until the submission answered)."""
    t0 = time.time()
    r = client.post(f"/policies/{number}/claims", json=_claim_body(), idempotency_key=uuid.uuid4().hex)
    answered = (time.time() - t0) * 1000
    assert r.status == 201, r.body
    return str(r.json["claim_number"]), t0, answered


def ping_p50(base: str, n: int = 200) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        urllib.request.urlopen(f"{base}/ping").read()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _where(p: Any, claim: str) -> str:
    """Where a claim stands, for the message of a run that gave up on it."""
    from petcover.repositories import claims as claim_repo

    c, item = claim_repo.load(p.store, claim)
    return f"{claim} is {c.status} (queued: {claim_repo.is_queued(item)}, decision: {c.decision})"


def run(
    client: Any, p: Any, sink: SinkLog, numbers: list[str], wait: float = WAIT_SECONDS
) -> tuple[dict[str, list[float]], list[str]]:
    """One claim at a time: submit, then wait until its claim.paid reaches the sink."""
    out: dict[str, list[float]] = {"answered": [], "paid_webhook": []}
    claims: list[str] = []
    for number in numbers:
        claim, t0, answered = _submit(client, number)
        try:
            received = sink.wait_for(claim, wait)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: {_where(p, claim)}") from None
        out["answered"].append(answered)
        out["paid_webhook"].append((received - t0) * 1000)
        claims.append(claim)
        if len(claims) % 25 == 0:
            print(f"{len(claims)} claims paid, last {out['paid_webhook'][-1]:.0f} ms", flush=True)
    return out, claims


def _server_side(p: Any, channel: str, claims: list[str]) -> list[float]:
    """Submitted -> paid by the product's own clock, and one payout per claim in the ledger (read
    after the run, not timed)."""
    from collections import Counter

    from petcover.repositories import claims as claim_repo
    from petcover.services import ledger

    months = set()
    out, policies = [], []
    for number in claims:
        claim, _ = claim_repo.load(p.store, number)
        assert claim.status == "paid" and claim.paid_at is not None, claim
        out.append((claim.paid_at - claim.submitted_at).total_seconds() * 1000)
        policies.append(claim.policy_number)
        months.add(claim.paid_at.strftime("%Y-%m"))
    paid = Counter(
        e.policy_number
        for month in months
        for e in ledger.statement_entries(p, channel, month)
        if e.event == "claim_payout"
    )
    assert all(paid[pol] == 1 for pol in policies), "a claim was paid more than once, or not at all"
    return out


def report(ping: list[float], got: dict[str, list[float]], server: list[float], rules: set[str], load: float) -> str:
    trivial = summary_ms(ping)["p50"]
    rows = []
    for name, vals in (
        ("GET /ping (trivial, no I/O)", ping),
        ("POST /policies/{n}/claims answered", got["answered"]),
        ("submitted -> paid (the product's clock)", server),
        ("submission -> claim.paid webhook at the sink", got["paid_webhook"]),
    ):
        s = summary_ms(vals)
        rows.append([name, s["n"], s["p50"], s["p95"], s["p99"], f"{s['p50'] / trivial:.1f}x"])
    end = summary_ms(got["paid_webhook"])
    verdict = "met" if end["p95"] <= GOAL_P95_MS else "NOT met"
    return (
        table(["step", "claims", "p50 ms", "p95 ms", "p99 ms", "p50 / trivial p50"], rows)
        + f"\n\nGoal p95 <= {GOAL_P95_MS / 1000:.0f} s from submission to `claim.paid` received: {verdict} "
        f"(p95 {end['p95']:.0f} ms). Every claim was paid, once in the ledger, deciding rule "
        f"{', '.join(sorted(rules))}. "
        "One claim at a time, each submitted once the previous one's webhook arrived. Path: submission "
        "(claim + decision request in one transaction, released after the commit) -> ClaimDecisionQueue -> "
        "ClaimDecideFunction (rules, assess, approve, pay: three conditional transactions, a webhook each) -> "
        "WebhookQueue -> WebhookDeliverFunction -> signed POST to the sink. The machine's load average "
        f"during the run was {load:.1f} (other work shares its cores)."
    )


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=200)
    ap.add_argument("--warm", type=int, default=10)
    args = ap.parse_args(argv)
    with local_cloud() as (cloud, demo):
        from infra import seed
        from petcover.client import PetcoverClient

        p = seed._ports(cloud)
        ch = demo["channel"]
        client = PetcoverClient(cloud.api_base, ch["key_id"], ch["secret"], timeout=60)
        numbers = _policies(p, ch["id"], args.warm + args.claims)
        sink = SinkLog(cloud.run_dir / "sink.jsonl")
        run(client, p, sink, numbers[: args.warm], WARM_WAIT_SECONDS)  # cold starts of every function on the path
        ping_p50(cloud.api_base, 20)
        ping = ping_p50(cloud.api_base)
        got, claims = run(client, p, sink, numbers[args.warm :])
        load = os.getloadavg()[0]
        server = _server_side(p, ch["id"], claims)
        body = report(ping, got, server, {sink.rule[c] for c in claims}, load)
        write("claims", "Instant claims: submission to claim.paid webhook on the local cloud", body, "make bench")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
