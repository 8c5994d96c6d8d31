"""What a Lambda handler can run: the code reachable from it, read from the source (no imports).

Every module of the layer (shared/petcover) and of the handlers (functions/) is parsed once.
A *node* is one top-level definition of a module (function, class, constant) or the module's
own top-level code (``""``: imports, assignments, decorators, run when it is imported). A
node reaches every node its body names: a module-level name, an imported name, ``module.attr``
through an imported module, ``importlib.import_module("petcover...")``; a class counts as a
whole (all its methods). Naming is enough, calling is not required, so callbacks and tables
count. This over-approximates what runs, which is the safe side for granting permissions;
what it cannot see is a name built at run time, and ``Index.dynamic_imports`` reports those.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

MODULE_CODE = ""  # the node name of a module's own top-level code

Node = tuple[str, str]  # (module, top-level name or MODULE_CODE)
Binding = tuple[str, str | None]  # an imported module, or (module, name) imported from it


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    is_package: bool
    definitions: dict[str, ast.AST] = field(default_factory=dict)
    bindings: dict[str, set[Binding]] = field(default_factory=dict)

    def where(self, node: ast.AST) -> str:
        return f"{self.path}:{getattr(node, 'lineno', 0)}"

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = path.relative_to(root).with_suffix("").parts
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _top_level_code(tree: ast.Module) -> list[ast.AST]:
    """What runs at import: every statement but the bodies of functions and classes."""
    out: list[ast.AST] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            out += [*stmt.decorator_list, *stmt.args.defaults, *(d for d in stmt.args.kw_defaults if d)]
        elif isinstance(stmt, ast.ClassDef):
            out += [*stmt.decorator_list, *stmt.bases, *stmt.keywords]
        else:
            out.append(stmt)
    return out


def attribute_chain(expr: ast.AST) -> tuple[ast.AST, list[str]]:
    """``a.b.c`` -> (a, ["b", "c"])."""
    attrs: list[str] = []
    while isinstance(expr, ast.Attribute):
        attrs.append(expr.attr)
        expr = expr.value
    return expr, attrs[::-1]


def imported_module_name(call: ast.AST) -> str | None:
    """The literal argument of ``importlib.import_module("...")``, if that is what this is."""
    if not isinstance(call, ast.Call) or not call.args:
        return None
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    arg = call.args[0]
    if name == "import_module" and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    return None


class Index:
    """Every module under the given roots, with its definitions and import bindings."""

    def __init__(self, roots: list[Path]) -> None:
        self.modules: dict[str, Module] = {}
        for root in roots:
            for path in sorted(root.rglob("*.py")):
                name, is_package = _module_name(path, root)
                tree = ast.parse(path.read_text(), str(path))
                self.modules[name] = Module(name, path, tree, is_package)
        for module in self.modules.values():
            self._index(module)

    def _index(self, module: Module) -> None:
        for stmt in module.tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                module.definitions[stmt.name] = stmt
            elif isinstance(stmt, ast.Assign | ast.AnnAssign):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            module.definitions[name.id] = stmt
        # Imports anywhere in the module (function-level ones too) bind names for the whole module.
        for found in ast.walk(module.tree):
            if isinstance(found, ast.Import):
                for alias in found.names:
                    if alias.asname:
                        self._bind(module, alias.asname, (alias.name, None))
                    else:
                        top = alias.name.split(".")[0]
                        self._bind(module, top, (top, None))
            elif isinstance(found, ast.ImportFrom):
                base = self._absolute(module, found)
                for alias in found.names:
                    sub = f"{base}.{alias.name}"
                    binding: Binding = (sub, None) if sub in self.modules else (base, alias.name)
                    self._bind(module, alias.asname or alias.name, binding)

    def _absolute(self, module: Module, stmt: ast.ImportFrom) -> str:
        if not stmt.level:
            return stmt.module or ""
        parts = module.package.split(".")
        base = ".".join(parts[: len(parts) - stmt.level + 1])
        return f"{base}.{stmt.module}" if stmt.module else base

    def _bind(self, module: Module, name: str, binding: Binding) -> None:
        if binding[0] in self.modules:
            module.bindings.setdefault(name, set()).add(binding)

    # -------------------------------------------------------------- resolving names
    def resolve(self, module: str, name: str, seen: frozenset[Node] = frozenset()) -> set[Node]:
        """The node(s) ``name`` stands for inside ``module``; re-exports are followed."""
        mod = self.modules.get(module)
        if mod is None or (module, name) in seen:
            return set()
        seen = seen | {(module, name)}
        if name in mod.definitions:
            return {(module, name)}
        out: set[Node] = set()
        for target, attr in mod.bindings.get(name, ()):
            out |= {(target, MODULE_CODE)} if attr is None else self.resolve(target, attr, seen)
        return out

    def resolve_attribute(self, nodes: set[Node], attrs: list[str]) -> set[Node]:
        """Follow ``.attr`` from modules: a submodule, a definition, or a re-exported name."""
        for attr in attrs:
            following: set[Node] = set()
            for module, name in nodes:
                if name != MODULE_CODE:
                    following.add((module, name))  # an attribute of a definition: the definition
                elif f"{module}.{attr}" in self.modules:
                    following.add((f"{module}.{attr}", MODULE_CODE))
                else:
                    following |= self.resolve(module, attr)
            nodes = following
        return nodes

    def resolve_expr(self, module: str, expr: ast.AST) -> set[Node]:
        """What a name, a dotted name or ``import_module("...")`` (plus attributes) refers to."""
        base, attrs = attribute_chain(expr)
        if isinstance(base, ast.Name):
            start = self.resolve(module, base.id)
        elif (imported := imported_module_name(base)) in self.modules:
            start = {(str(imported), MODULE_CODE)}
        else:
            return set()
        return self.resolve_attribute(start, attrs)

    # -------------------------------------------------------------- the graph
    def body(self, node: Node) -> list[ast.AST]:
        module, name = node
        mod = self.modules[module]
        return _top_level_code(mod.tree) if name == MODULE_CODE else [mod.definitions[name]]

    def references(self, node: Node) -> set[Node]:
        module = node[0]
        out: set[Node] = set() if node[1] == MODULE_CODE else {(module, MODULE_CODE)}
        for part in self.body(node):
            for expr in ast.walk(part):
                if isinstance(expr, ast.Name | ast.Attribute) or imported_module_name(expr):
                    out |= self.resolve_expr(module, expr)
        if node[1] == MODULE_CODE:
            out |= self._decorated(module)
        out.discard(node)
        return out

    def _decorated(self, module: str) -> set[Node]:
        """Definitions decorated by our own code count as run on import (a registry may call them)."""
        out: set[Node] = set()
        for stmt in self.modules[module].tree.body:
            if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            decorators = [d.func if isinstance(d, ast.Call) else d for d in stmt.decorator_list]
            if any(self.resolve_expr(module, d) for d in decorators):
                out.add((module, stmt.name))
        return out

    @cached_property
    def graph(self) -> dict[Node, set[Node]]:
        nodes = [(m, MODULE_CODE) for m in self.modules]
        nodes += [(m, name) for m, mod in self.modules.items() for name in mod.definitions]
        return {n: self.references(n) for n in nodes}

    def reachable(self, *roots: Node, stop: frozenset[str] = frozenset()) -> set[Node]:
        """Every node the roots reach; nodes of a module in ``stop`` are neither counted nor followed."""
        seen: set[Node] = set()
        todo = [r for r in roots if r in self.graph]
        while todo:
            node = todo.pop()
            if node in seen or node[0] in stop:
                continue
            seen.add(node)
            todo.extend(self.graph[node] - seen)
        return seen

    def dynamic_imports(self) -> Iterator[str]:
        """``import_module`` calls whose argument is not a literal: code this reading cannot follow."""
        for mod in self.modules.values():
            for expr in ast.walk(mod.tree):
                if isinstance(expr, ast.Call) and imported_module_name(expr) is None:
                    func = expr.func
                    if isinstance(func, ast.Attribute | ast.Name) and "import_module" in ast.unparse(func):
                        yield mod.where(expr)
