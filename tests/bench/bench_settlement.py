"""A channel's monthly settlement run with 100,000 policies in the month: wall time and store calls.

    python -m tests.bench.bench_settlement [--policies 100000]

The month's issue journals are written first (not measured), as underwriting writes them; then the run
is timed in-process on the in-memory store: it reads the month in pages of 500 (bounded Queries),
derives the statement and renders JSON, CSV and XLSX. Store calls transfer to DynamoDB; the wall time is
this machine's CPU for the statement and its three files (the page reads on AWS add their latency).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.bench.common import table, write


def run(n: int) -> list[list[object]]:
    from petcover import runtime
    from petcover.domain import money
    from petcover.messaging import MemoryPublisher
    from petcover.ports import Ports
    from petcover.repositories import ledger as ledger_repo
    from petcover.services.money import settlements
    from petcover.storage.memory import MemoryBlobs, MemoryStore

    store = MemoryStore()
    p = Ports(
        store=store, publisher=MemoryPublisher(), blobs=MemoryBlobs(), clock=lambda: datetime(2026, 12, 2, tzinfo=UTC)
    )
    runtime.install(p)
    start = datetime(2026, 11, 1, 1, tzinfo=UTC)
    for i in range(n):
        at = start + timedelta(seconds=i * 20)
        e = money.ledger_entry(
            uuid.uuid4().hex[:12],
            at,
            channel_id="big-shop",
            product_code="pet-health",
            plan_code="basic",
            policy_number=f"PC{i:09d}",
            event="issue",
            amount=Decimal("458.85"),
            commission_pct=Decimal(10),
        )
        store.put(ledger_repo.entry_item(e))
    before = dict(store.calls)
    t0 = time.perf_counter()
    s = settlements.run(p, "system:bench", "channel", "big-shop", "2026-11")
    wall = time.perf_counter() - t0
    calls = {k: v - before.get(k, 0) for k, v in store.calls.items() if v - before.get(k, 0)}
    total = sum(calls.values())
    sizes = {fmt: len(p.blobs.get_bytes(key) or b"") for fmt, key in s.files.items()}  # type: ignore[union-attr]
    runtime.install(None)
    assert s.receivables == Decimal("458.85") * n
    return [
        [
            n,
            f"{wall:.1f}",
            total,
            f"{total / n:.4f}",
            ", ".join(f"{k} {v}" for k, v in sorted(calls.items())),
            ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items()),
        ]
    ]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--policies", type=int, default=100_000)
    args = ap.parse_args(argv)
    rows = run(args.policies)
    body = table(["policies in the month", "run s", "store calls", "per policy", "by kind", "files"], rows)
    body += (
        "\n\nOne run: lock the period, read the month's journals in pages of 500, derive the statement, write "
        "JSON, CSV and XLSX (openpyxl) and record it. A second run of the same month reads one item."
    )
    write(
        "settlement",
        "Channel settlement run",
        body,
        f"python -m tests.bench.bench_settlement --policies {args.policies}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
