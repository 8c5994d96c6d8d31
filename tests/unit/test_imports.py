"""No import circle among the layer's modules (shared/petcover) or the tooling (infra).

Every ``import`` and ``from ... import`` counts, wherever it sits: at module level, inside a
function, or under ``if TYPE_CHECKING``. A circle hidden in a function body still couples
two modules both ways; this test refuses it the same as a top-level one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TREES = {ROOT / "shared": "petcover", ROOT: "infra"}  # folder holding the package -> package name


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    where: str  # path:line of the import statement


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the walked packages."""
    modules: dict[str, Path] = {}
    for base, package in TREES.items():
        for path in sorted((base / package).rglob("*.py")):
            parts = path.relative_to(base).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module a (possibly relative) ``from`` import names."""
    if level == 0:
        return name or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    anchor = package[: len(package) - (level - 1)]
    return ".".join([*anchor, name] if name else anchor)


def imported_modules(module: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """(module, line) for each import of ``path`` that lands on a known module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in known:
                    yield submodule, node.lineno
                elif base in known:
                    yield base, node.lineno


def import_graph() -> list[Edge]:
    files = module_files()
    known = set(files)
    edges: set[Edge] = set()
    for module, path in files.items():
        for target, line in imported_modules(module, path, known):
            if target != module:
                edges.add(Edge(module, target, f"{path.relative_to(ROOT)}:{line}"))
    return sorted(edges, key=lambda e: (e.source, e.target, e.where))


def strongly_connected(nodes: set[str], edges: list[Edge]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; returns the components with more than one module."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for e in edges:
        succ[e.source].append(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(nodes):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(succ[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(succ[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(found)


def describe(component: list[str], edges: list[Edge]) -> str:
    inside = set(component)
    lines = [f"circle through {len(component)} modules: {', '.join(component)}"]
    lines += [f"    {e.source} -> {e.target}  ({e.where})" for e in edges if e.source in inside and e.target in inside]
    return "\n".join(lines)


def test_the_walk_sees_every_kind_of_import() -> None:
    edges = import_graph()
    pairs = {(e.source, e.target) for e in edges}
    assert ("petcover.api", "petcover.authentication") in pairs  # module level
    assert ("infra.cli", "infra.localcloud") in pairs
    assert _absolute("petcover.services.x", False, 2, "errors") == "petcover.errors"
    assert _absolute("petcover.services", True, 1, "x") == "petcover.services.x"


def test_strongly_connected_finds_a_circle() -> None:
    edges = [Edge("a", "b", ""), Edge("b", "c", ""), Edge("c", "a", ""), Edge("c", "d", "")]
    assert strongly_connected({"a", "b", "c", "d"}, edges) == [["a", "b", "c"]]


def test_no_import_circle_in_shared_or_infra() -> None:
    edges = import_graph()
    circles = strongly_connected(set(module_files()), edges)
    assert not circles, "\n" + "\n".join(describe(c, edges) for c in circles)
