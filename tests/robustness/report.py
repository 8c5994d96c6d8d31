"""bench/results/robustness.md: written by the suite on every run, in a fixed layout.

Each area (hostile input, load, faults, security) records a section; sections are kept as JSON
under ``.run/robustness/`` so the unit/integration run (``pytest tests/integration``) and the
e2e run (``pytest tests/e2e``) of one ``make test`` both land in the same file. The Markdown is
re-rendered from every stored section after each record, sections in a fixed order, so the
file's layout does not depend on which tests ran first.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "results" / "robustness.md"
STATE = ROOT / ".run" / "robustness"

# (key, title): the order sections appear in, whatever order they were recorded in.
SECTIONS: list[tuple[str, str]] = [
    ("fuzz-inprocess", "Hostile input: schemathesis, every operation, in-process against moto"),
    ("fuzz-http", "Hostile input: schemathesis over HTTP on the local cloud"),
    ("hostile", "Hostile input: hand-written cases over HTTP"),
    ("load", "Load with invariants"),
    ("faults-e2e", "Faults on the local cloud"),
    ("faults-integration", "Faults at integration level (moto)"),
    ("security", "Security"),
    ("logs", "Secrets in logs"),
]
_lock = threading.Lock()


@dataclass
class Section:
    key: str
    mode: str  # bounded | full
    command: str
    cases: int  # requests or scenarios tried
    failures: int  # product failures found (known bugs included)
    invariants: int = 0  # invariant checks evaluated
    data_lost: int = 0  # acknowledged writes not found afterwards, messages lost
    known_bugs: list[str] = field(default_factory=list)
    body: str = ""  # Markdown


def command() -> str:
    """The command line that produced this run, relative to the repository.

    Under pytest-xdist a worker's own argv is ``-c``: the command is its parent's (the controller).
    """
    argv = list(sys.argv)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        try:
            raw = Path(f"/proc/{os.getppid()}/cmdline").read_bytes()
            argv = [a.decode() for a in raw.split(b"\0") if a]
            if argv and Path(argv[0]).name.startswith("python") and len(argv) > 1:
                argv = argv[1:]  # "python .venv/bin/pytest ..." -> ".venv/bin/pytest ..."
        except OSError:
            argv = ["pytest", "-n", "<workers>"]
    if argv:
        exe = Path(argv[0])
        try:
            argv[0] = str(exe.resolve().relative_to(ROOT))
        except ValueError:
            argv[0] = exe.name
    prefix = "ROBUSTNESS=full " if os.environ.get("ROBUSTNESS", "").lower() == "full" else ""
    return prefix + " ".join(shlex.quote(a) for a in argv)


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)


def record(section: Section) -> None:
    with _lock:
        STATE.mkdir(parents=True, exist_ok=True)
        _write(STATE / f"{section.key}.json", asdict(section))
        render()


@dataclass
class Row:
    """One scenario of a row-built section (the fault scenarios): tests record one row each, so
    parallel workers (pytest -n 2) never overwrite each other's results."""

    scenario: str
    injected: str
    caught_by: str
    outcome: str  # "caught" | "GAP: ..." | "FAILED: ..."
    mode: str
    command: str
    invariants: int = 0
    data_lost: int = 0
    known_bug: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome != "caught"


ROW_COLUMNS = ["scenario", "fault injected", "what catches it", "outcome", "invariants", "data lost"]


def record_row(key: str, row_id: str, row: Row) -> None:
    with _lock:
        folder = STATE / key
        folder.mkdir(parents=True, exist_ok=True)
        _write(folder / f"{row_id}.json", asdict(row))
        render()


def _rows_section(key: str) -> Section | None:
    folder = STATE / key
    if not folder.is_dir():
        return None
    rows: list[Row] = []
    for path in sorted(folder.glob("*.json")):
        try:
            rows.append(Row(**json.loads(path.read_text())))
        except (ValueError, TypeError):
            continue
    if not rows:
        return None
    modes = sorted({r.mode for r in rows})
    commands = sorted({r.command for r in rows})
    body = table(
        ROW_COLUMNS,
        [
            [
                r.scenario,
                r.injected,
                r.caught_by,
                r.outcome if not r.failed else f"**{r.outcome}**",
                r.invariants,
                r.data_lost,
            ]
            for r in rows
        ],
        "llllrr",
    )
    return Section(
        key=key,
        mode="/".join(modes),
        command=" ; ".join(commands),
        cases=len(rows),
        failures=sum(1 for r in rows if r.failed),
        invariants=sum(r.invariants for r in rows),
        data_lost=sum(r.data_lost for r in rows),
        known_bugs=[r.known_bug for r in rows if r.known_bug],
        body=body,
    )


def load_all() -> dict[str, Section]:
    out: dict[str, Section] = {}
    for key, _ in SECTIONS:
        rows = _rows_section(key)
        if rows is not None:
            out[key] = rows
            continue
        path = STATE / f"{key}.json"
        if path.exists():
            try:
                out[key] = Section(**json.loads(path.read_text()))
            except (ValueError, TypeError):
                continue
    return out


def table(header: list[str], rows: list[list[Any]], align: str | None = None) -> str:
    """A Markdown table; ``align`` is one of l/r per column (default: first left, rest right)."""
    align = align or ("l" + "r" * (len(header) - 1))
    marks = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in r) + " |")
    return "\n".join(lines)


def render() -> None:
    sections = load_all()
    lines = [
        "# Robustness",
        "",
        "Written by the robustness suite on every run (`tests/e2e/test_robustness_*.py`, "
        "`tests/integration/test_faults*.py`); figures are measured, not asserted timings.",
        "",
        "- bounded form, part of `make test`: `.venv/bin/pytest tests/integration` and `.venv/bin/pytest tests/e2e`",
        "- full form: `make robustness` (`ROBUSTNESS=full .venv/bin/pytest tests/e2e -q -m robustness`; the "
        "integration faults run with `.venv/bin/pytest tests/integration -q -k faults`)",
        "",
        "## Summary",
        "",
    ]
    rows: list[list[Any]] = []
    totals = [0, 0, 0, 0]
    for key, title in SECTIONS:
        s = sections.get(key)
        if s is None:
            rows.append([title, "not run", "", "", "", "", ""])
            continue
        rows.append([title, s.mode, s.cases, s.failures, s.invariants, s.data_lost, f"`{s.command}`"])
        totals = [totals[0] + s.cases, totals[1] + s.failures, totals[2] + s.invariants, totals[3] + s.data_lost]
    rows.append(["**total**", "", *(f"**{t}**" for t in totals), ""])
    lines.append(
        table(
            ["area", "form", "cases tried", "failures", "invariants checked", "data lost", "command"], rows, "llrrrrl"
        )
    )
    lines.append("")
    bugs = [(key, b) for key, _ in SECTIONS if key in sections for b in sections[key].known_bugs]
    if bugs:
        lines += ["## Product bugs found (open)", ""]
        seen: set[str] = set()
        for _, b in bugs:
            if b not in seen:
                seen.add(b)
                lines.append(f"- {b}")
        lines.append("")
    from tests.robustness import known_bugs

    lines += ["## Found by this suite and fixed upstream", ""]
    lines.append(
        table(
            ["finding", "where", "what happened", "fixed in", "now guarded by"],
            [
                [f"`{b.id}`", b.owner, b.text, b.fixed_in, f"`{b.regression.rsplit('::', 1)[-1]}`"]
                for b in known_bugs.FIXED
            ],
            "lllll",
        )
    )
    lines.append("")
    for key, title in SECTIONS:
        s = sections.get(key)
        lines += [f"## {title}", ""]
        if s is None:
            lines += ["Not run yet.", ""]
            continue
        lines += [f"Form: {s.mode}. Command: `{s.command}`", "", s.body.strip(), ""]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(f".md.{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines).rstrip() + "\n")
    tmp.replace(OUT)  # atomic: parallel workers never leave a half-written file
