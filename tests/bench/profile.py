"""Where the time goes: py-spy samples the emulator and every Lambda worker it runs, with the GIL held
(CPU, not waiting), and the bench reports the share of each process and its heaviest frames.

    with sampled(emulator_pid, seconds) as prof: ...run the load...
    prof.summary()  # markdown
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RATE_HZ = 100  # low enough that py-spy keeps up with a dozen processes on 2 cores
FUNCTION = re.compile(r"ministack-lambda-.*?-([A-Za-z0-9]+)Function-")


def _spy() -> str | None:
    here = Path(sys.executable).with_name("py-spy")
    return str(here) if here.exists() else shutil.which("py-spy")


class Profile:
    def __init__(self, raw: Path | None, why_not: str = "") -> None:
        self.raw = raw
        self.why_not = why_not

    def _stacks(self) -> Iterator[tuple[str, list[str], int]]:
        assert self.raw is not None
        for line in self.raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            procs = [f for f in frames if f.startswith("process ")]
            code = [re.sub(r":\d+\)$", ")", f) for f in frames if not f.startswith("process ")]
            yield self._process(procs[-1] if procs else ""), code, int(count)

    @staticmethod
    def _process(frame: str) -> str:
        named = FUNCTION.search(frame)
        if named:
            return f"Lambda worker: {named.group(1)}"
        return "emulator (API Gateway, Lambda service, DynamoDB, SQS)"

    def summary(self, top: int = 12) -> str:
        if self.raw is None or not self.raw.exists() or not self.raw.read_text().strip():
            return f"No profile: {self.why_not or 'py-spy recorded nothing'}."
        per_process: collections.Counter[str] = collections.Counter()
        inclusive: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for proc, code, n in self._stacks():
            per_process[proc] += n
            for frame in set(code):
                inclusive[proc][frame] += n
        total = sum(per_process.values())
        rows = [f"| {p} | {n} | {n / total:.0%} |" for p, n in per_process.most_common(10)]
        out = [
            f"CPU samples (py-spy, {RATE_HZ} Hz, GIL held) by process: {total} in all.",
            "",
            "| process | samples | share |",
            "|---|---|---|",
            *rows,
        ]
        emulator = next((p for p in per_process if p.startswith("emulator")), None)
        worker = next((p for p, _ in per_process.most_common() if p.startswith("Lambda")), None)
        pairs: list[tuple[str | None, str]] = [(emulator, "ministack/"), (worker, "")]
        for proc, keep in pairs:
            if proc is None:
                continue
            n = per_process[proc]
            frames = [
                (f, c)
                for f, c in inclusive[proc].most_common()
                if (keep in f if keep else True) and c < n and not _plumbing(f)
            ][:top]
            out += ["", f"Heaviest frames of the {proc} (inclusive share of its samples):", ""]
            out += ["| frame | share |", "|---|---|"]
            out += [f"| `{f[:110]}` | {c / n:.0%} |" for f, c in frames]
        return "\n".join(out)


def _plumbing(frame: str) -> bool:
    """Frames every sample passes through (process start, event loop, thread bootstrap)."""
    return any(
        s in frame
        for s in ("multiprocessing/", "threading.py", "asyncio/", "hypercorn/", "<module>", "_worker.py", "spawn_main")
    )


@contextmanager
def sampled(pid: int, seconds: int) -> Iterator[Profile]:
    """Record `pid` and its children for `seconds` (py-spy stops by itself), in the background."""
    spy = _spy()
    if spy is None:
        yield Profile(None, "py-spy is not installed (pip install -e '.[dev]')")
        return
    out = Path(tempfile.mkdtemp(prefix="petcover-profile-")) / "stacks.txt"
    argv = [spy, "record", "--gil", "--subprocesses", "--pid", str(pid), "--rate", str(RATE_HZ)]
    argv += ["--duration", str(seconds), "--format", "raw", "--output", str(out), "--nonblocking"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    profile = Profile(out)
    try:
        yield profile
    finally:
        try:
            _, err = proc.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if proc.returncode != 0:
            profile.why_not = f"py-spy exited {proc.returncode}: {err.strip()[-200:]}"
