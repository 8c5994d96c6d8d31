"""Ship bytecode: compile what ``sam build`` produced, so a new container loads modules instead of
compiling them.

The Lambda builder leaves ``__pycache__`` out of what it copies and a function's code is read-only
at run time, so without this every cold start compiles every module it imports from source (the
petcover layer alone is over 200 modules). The pyc files are ``unchecked-hash``: used whatever
timestamps the files get in the zip. Compiled: the layer whole, and in each function's folder the
package its handler lives in (a function imports only that package of ``functions/``).

    python -m infra.bytecode .aws-sam/build     # after `sam build`, before `sam deploy`
"""

from __future__ import annotations

import compileall
import py_compile
import sys
import time
from pathlib import Path

from infra import template

MODE = py_compile.PycInvalidationMode.UNCHECKED_HASH


def targets(build_dir: Path) -> list[Path]:
    """The folders to compile: every layer's, and each function's handler package."""
    built = template.parse((build_dir / "template.yaml").read_text())
    out: list[Path] = []
    for res in built["Resources"].values():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::LayerVersion":
            out.append(build_dir / str(props["ContentUri"]))
        elif res.get("Type") == "AWS::Serverless::Function" and "Handler" in props:
            package = str(props["Handler"]).split(".")[0]
            out.append(build_dir / str(props["CodeUri"]) / package)
    return [p for p in out if p.is_dir()]


def compile_build(build_dir: Path) -> tuple[int, float]:
    """Compile the build's layers and handler packages; the folders compiled and the seconds taken."""
    t0 = time.perf_counter()
    folders = targets(build_dir)
    for folder in folders:
        if not compileall.compile_dir(str(folder), quiet=2, invalidation_mode=MODE):
            raise RuntimeError(f"bytecode compilation failed under {folder}")
    return len(folders), time.perf_counter() - t0


if __name__ == "__main__":
    n, seconds = compile_build(Path(sys.argv[1] if len(sys.argv) > 1 else ".aws-sam/build"))
    print(f"compiled {n} folders to bytecode in {seconds:.1f}s")
