"""Size rules for the layer (shared/petcover) and the tooling (infra).

A module is at most 500 lines. A function is at most 60 lines, unless its docstring has a
line starting with "Long because" that says why it reads better in one piece.

Tests share their fakes and world builders through tests/support: no test module imports another
test module, and only tests/support defines a Clock or a FakeBlobs.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = [ROOT / "shared" / "petcover", ROOT / "infra"]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
REASON = "Long because"
TESTS = ROOT / "tests"
SUPPORT = TESTS / "support"
SHARED_FAKES = {"Clock", "FakeBlobs"}


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


def is_test_module(name: str) -> bool:
    return any(part.startswith("test_") for part in name.split("."))


def imported_test_modules(tree: ast.AST) -> list[str]:
    """Test modules an import names, at any depth: ``from a.test_b import c`` and ``from a import test_b``."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names if is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            if is_test_module(base):
                names.append(base)
                continue
            joined = (base if base.endswith(".") else base + ".") + "{}"
            names += [joined.format(alias.name) for alias in node.names if is_test_module(alias.name)]
    return names


def layout_breaches(path: Path, tree: ast.AST) -> list[str]:
    where = path.relative_to(ROOT)
    found = [f"{where} imports {name}" for name in imported_test_modules(tree)]
    if not path.is_relative_to(SUPPORT):
        found += [
            f"{where}:{node.lineno} defines {node.name} (use tests/support)"
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and node.name in SHARED_FAKES
        ]
    return found


def test_the_layout_rule_sees_test_imports_and_local_fakes() -> None:
    source = "from tests.unit.test_a import x\nfrom tests.unit import test_b\nfrom . import test_c\n"
    source += "def f():\n    import tests.e2e.test_d\n    class Clock: ...\n"
    found = layout_breaches(TESTS / "unit" / "x.py", ast.parse(source))
    assert [line.split(" ", 1)[1] for line in found] == [
        "imports tests.unit.test_a",
        "imports tests.unit.test_b",
        "imports .test_c",
        "imports tests.e2e.test_d",
        "defines Clock (use tests/support)",
    ]
    assert layout_breaches(SUPPORT / "clock.py", ast.parse("class Clock: ...\n")) == []


def test_tests_share_fakes_through_support_and_never_import_a_test_module() -> None:
    found = [
        entry
        for path in sorted(TESTS.rglob("*.py"))
        for entry in layout_breaches(path, ast.parse(path.read_text(), filename=str(path)))
    ]
    assert not found, "move what is shared into tests/support:\n" + "\n".join(found)
