"""Size rules for the layer (shared/petcover) and the tooling (infra).

A module is at most 500 lines. A function is at most 60 lines, unless its docstring has a
line starting with "Long because" that says why it reads better in one piece.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = [ROOT / "shared" / "petcover", ROOT / "infra"]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
REASON = "Long because"


def python_files() -> list[Path]:
    return sorted(path for folder in FOLDERS for path in folder.rglob("*.py"))


def gives_a_reason(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    doc = ast.get_docstring(node) or ""
    return any(line.strip().startswith(REASON) for line in doc.splitlines())


def long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES and not gives_a_reason(node):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_the_reason_convention_is_read_from_the_docstring() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    tree = ast.parse(f'def f():\n    """Long because it is a table."""\n{body}\n\ndef g():\n{body}\n')
    f, g = tree.body
    assert isinstance(f, ast.FunctionDef) and isinstance(g, ast.FunctionDef)
    assert gives_a_reason(f) and not gives_a_reason(g)


def test_modules_are_at_most_500_lines() -> None:
    too_long = [
        f"{path.relative_to(ROOT)} ({n} lines)"
        for path in python_files()
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert not too_long, "split these modules:\n" + "\n".join(too_long)


def test_functions_are_at_most_60_lines_or_say_why() -> None:
    too_long = [entry for path in python_files() for entry in long_functions(path)]
    assert not too_long, f'split these, or start a docstring line with "{REASON}":\n' + "\n".join(too_long)
