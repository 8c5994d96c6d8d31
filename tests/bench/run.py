"""`make bench`: every benchmark, then bench/RESULTS.md assembled from bench/results/*.md."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.bench.common import FULL_TABLE, RESULTS, ROOT

BENCHES = [
    ["tests.bench.bench_platform"],
    ["tests.bench.bench_fulfilment"],
    ["tests.bench.bench_commodities"],
    ["tests.bench.bench_dispatch"],
    ["tests.bench.bench_dispatch_service"],
    ["tests.bench.bench_quality"],
    ["tests.bench.bench_claims"],
    ["tests.bench.bench_round_trips"],
    ["tests.bench.bench_settlement"],
    ["tests.bench.bench_insurers"],
    ["tests.bench.bench_console"],
]
ORDER = [
    "route_latency",
    "cold_imports",
    "shipped_bytecode",
    "store_calls",
    "round_trips",
    "mixed_load",
    "bulk_issue",
    "fulfilment",
    "commodities",
    "onboarding",
    "dispatch",
    "dispatch_service",
    "quality",
    "claims",
    "settlement",
    "insurers",
    "robustness",
    "console",
]


def assemble() -> None:
    parts = [
        "# petcover figures",
        "",
        "Written by `make bench` (each section says when and how it was measured). Emulator timings are",
        "for comparison on one machine; store-call counts transfer to AWS.",
        "",
    ]
    files = sorted(RESULTS.glob("*.md"), key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else 99, p.stem))
    for f in files:
        # a section may carry a long table below a marker: RESULTS.md keeps what is above it
        parts += [f.read_text().split(FULL_TABLE)[0].strip(), ""]
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(parts))


def main() -> int:
    only = os.environ.get("BENCH")
    for mod in BENCHES:
        if only and only not in mod[0]:
            continue
        t0 = time.time()
        print(f"== {mod[0]}", flush=True)
        subprocess.run([sys.executable, "-m", *mod], cwd=ROOT, check=True)
        print(f"== {mod[0]} took {time.time() - t0:.0f}s", flush=True)
    assemble()
    return 0


if __name__ == "__main__":
    sys.exit(main())
