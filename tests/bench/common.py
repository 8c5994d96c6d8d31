"""Shared bits of the benchmarks: percentiles, a Markdown writer, a local cloud for a bench run."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "mean": statistics.fmean(values) if values else float("nan"),
        "p50": pct(values, 50),
        "p95": pct(values, 95),
        "p99": pct(values, 99),
    }


FULL_TABLE = "<!-- full table -->"  # RESULTS.md keeps what is above this line of a section


def write(name: str, title: str, body: str, command: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    path.write_text(f"## {title}\n\nMeasured {stamp} on {os.cpu_count()} cores with `{command}`.\n\n{body.strip()}\n")
    print(path.read_text())
    return path


def table(header: list[str], rows: list[list[Any]]) -> str:
    def fmt(v: Any) -> str:
        return f"{v:.1f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


@contextlib.contextmanager
def local_cloud() -> Iterator[tuple[Any, dict[str, Any]]]:
    """A fresh stack on free loopback ports for the duration of one bench."""
    sys.path[:0] = [str(ROOT / "shared"), str(ROOT / "functions"), str(ROOT)]
    from infra import seed
    from infra.localcloud import LocalCloud, free_port

    run_dir = ROOT / ".run" / f"bench-{os.getpid()}"
    cloud = LocalCloud(
        port=free_port(), sink_port=free_port(), insurer_port=free_port(), stack="petcover-bench", run_dir=run_dir
    )
    try:
        cloud.start()
        cloud.deploy()
        demo = seed.seed(cloud)
        yield cloud, demo
    finally:
        cloud.stop(quiet=True)
        shutil.rmtree(run_dir, ignore_errors=True)
