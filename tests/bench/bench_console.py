"""The console's figures: shipped JS (gzipped, first visit against the 350 KB budget) and the time
from opening a view to its first data on screen in headless Chromium against the local cloud
(the overview when the API has GET /ops/overview; budget 1 s after the functions are warm).

    python -m tests.bench.bench_console        (make bench runs it; PETCOVER_BROWSER_REUSE as in tests/browser)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.credentials import ops_token
from infra.localcloud import LocalCloud, free_port
from tests.bench.common import ROOT, table, write

CHROMIUM = os.environ.get("PETCOVER_CHROMIUM", "/usr/bin/chromium")
RUNS = 7


def shipped_size() -> dict[str, Any]:
    out = subprocess.run(
        ["node", "scripts/size.mjs", "--json"], cwd=ROOT / "console", capture_output=True, text=True, check=False
    )
    return dict(json.loads(out.stdout))


@contextmanager
def cloud() -> Iterator[str]:
    reuse = os.environ.get("PETCOVER_BROWSER_REUSE")
    if reuse:
        c = LocalCloud(
            port=int(os.environ["PETCOVER_PORT"]), sink_port=int(os.environ["PETCOVER_SINK_PORT"]), run_dir=Path(reuse)
        ).load()
        yield c.api_base
        return
    run_dir = ROOT / ".run" / f"bench-console-{os.getpid()}"
    c = LocalCloud(port=free_port(), sink_port=free_port(), stack="petcover-bench-console", run_dir=run_dir)
    try:
        c.start()
        c.deploy()
        from infra import seed

        seed.seed(c)
        yield c.api_base
    finally:
        c.stop(quiet=True)
        subprocess.Popen(["rm", "-rf", str(run_dir)], start_new_session=True)


def time_to_data(base: str, path: str, ready: str) -> list[float]:
    """Milliseconds from navigation to the view's data on screen, after one warm-up load."""
    from playwright.sync_api import sync_playwright

    token = ops_token(["admin"], "bench")
    times: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        page.set_default_timeout(180_000)
        page.goto(f"{base}/console/{path}#token={token}")
        page.locator(ready).first.wait_for()
        for _ in range(RUNS):
            t0 = time.perf_counter()
            page.goto(f"{base}/console/{path}")
            page.locator(ready).first.wait_for()
            times.append((time.perf_counter() - t0) * 1000)
        browser.close()
    return times


def main() -> None:
    size = shipped_size()
    rows = [
        ["initial JS (gzip)", f"{size['initial_js_gzip_kb']} KB", "≤ 350 KB"],
        ["all JS (gzip)", f"{size['all_js_gzip_kb']} KB", "views and charts split out"],
    ]
    rows += [[f"lazy chunk {f}", f"{kb} KB", ""] for f, kb in size["largest_lazy_chunks"]]
    has_overview = "/ops/overview" in json.loads((ROOT / "openapi.json").read_text())["paths"]
    overview = ("overview", "[data-testid=overview-figures]")
    view, ready = overview if has_overview else ("work-orders", "main .ant-table-wrapper, main .ant-empty")
    with cloud() as base:
        ms = time_to_data(base, "" if has_overview else "work-orders", ready)
    measured = f"p50 {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms"
    rows.append([f"{view}: navigation to first data (warm, {RUNS} runs)", measured, "≤ 1 s"])
    write(
        "console",
        "Console: shipped size and time to first data",
        table(["figure", "measured", "budget"], rows)
        + ("" if has_overview else "\n\nThe overview's API is not in this build: the work-orders view stands in."),
        "make bench (tests.bench.bench_console)",
    )


if __name__ == "__main__":
    main()
