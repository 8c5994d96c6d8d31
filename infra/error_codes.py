"""Which ``error.code`` values each operation can answer with, per status, read from the code.

Nobody keeps a list by hand: ``operation_codes(handler)`` walks the operation function's source and,
transitively, every function of the project it calls or passes on (resolved through the module's
names), and collects each ``DomainError`` subclass it builds with its ``code`` (the class's own code
when none is given; a ``code`` that is a parameter of the function is taken from the callers that
pass a literal). To that it adds what the HTTP adapter itself can answer for the operation's kind
(``adapter_codes``: body and query parsing, signature or token, contract permission, idempotency,
body size) and what the store can answer on any call (``petcover.storage.dynamo``).

The walk over-approximates (a function that can raise a code on some path counts), never guesses
a status, and cannot follow calls through objects (``p.store.put``): a code raised only behind such
a call is named in the operation's ``errors=(...)``; ``infra.openapi`` takes its status from
``registry()`` (every code the project raises anywhere). The fuzz test fails on any answer whose
code the document does not list for that status.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
import types
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from petcover import errors

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "shared" / "petcover", ROOT / "functions")
Codes = dict[int, set[str]]
INTERNAL = {500: {"INTERNAL"}}


def _error_class(obj: Any) -> type[errors.DomainError] | None:
    if isinstance(obj, type) and issubclass(obj, errors.DomainError):
        return obj
    return None


def _ours(obj: Any) -> bool:
    module = getattr(obj, "__module__", "") or ""
    return isinstance(obj, types.FunctionType) and (
        module.startswith("petcover") or module.split(".")[0] in _function_packages()
    )


@cache
def _function_packages() -> frozenset[str]:
    return frozenset(p.name for p in (ROOT / "functions").iterdir() if p.is_dir())


def _resolve(node: ast.expr, scope: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return scope.get(node.id, getattr(__builtins__, node.id, None) if hasattr(__builtins__, node.id) else None)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, scope)
        if base is None:
            return None
        try:
            return inspect.getattr_static(base, node.attr)
        except AttributeError:
            return None
    return None


def _local_imports(tree: ast.AST) -> dict[str, Any]:
    """Names a function imports in its body (``from petcover import tokens`` inside it)."""
    names: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = importlib.import_module(node.module)
            for alias in node.names:
                target = getattr(module, alias.name, None)
                if target is None:
                    target = importlib.import_module(f"{node.module}.{alias.name}")
                names[alias.asname or alias.name] = target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = importlib.import_module(alias.name.split(".")[0])
    return names


def _strings(node: ast.expr) -> list[str]:
    """The literal codes an expression can give: a string, or either branch of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [s for v in node.values for s in _strings(v)]
    return []


class _Walk:
    """Collects (status, code) pairs reachable from functions, following calls and references."""

    def __init__(self) -> None:
        self.found: Codes = defaultdict(set)
        self.seen: set[int] = set()
        # function -> {parameter name: status} when the function raises with ``code=<parameter>``
        self.parametric: dict[int, dict[str, int]] = {}

    def function(self, fn: types.FunctionType) -> None:
        fn = inspect.unwrap(fn)  # type: ignore[assignment]
        if id(fn) in self.seen or not _ours(fn):
            return
        self.seen.add(id(fn))
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        except (OSError, TypeError, SyntaxError):
            return
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                node.decorator_list = []  # ``@api(...)`` describes the operation; it is not its body
        params = {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
        self.parametric[id(fn)] = {}
        self.tree(tree, {**fn.__globals__, **_local_imports(tree)}, fn, params)

    def module(self, module: types.ModuleType) -> None:
        tree = ast.parse(Path(inspect.getfile(module)).read_text())
        self.tree(tree, vars(module), None, set())

    def tree(self, tree: ast.AST, scope: dict[str, Any], owner: types.FunctionType | None, params: set[str]) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                self.call(node, scope, owner, params)
            elif isinstance(node, ast.Name | ast.Attribute) and isinstance(getattr(node, "ctx", None), ast.Load):
                target = _resolve(node, scope)
                if _ours(target):
                    self.function(target)

    def call(self, node: ast.Call, scope: dict[str, Any], owner: types.FunctionType | None, params: set[str]) -> None:
        target = _resolve(node.func, scope)
        cls = _error_class(target)
        if cls is not None:
            code_arg = next((k.value for k in node.keywords if k.arg == "code"), None)
            if code_arg is None:
                self.found[cls.status].add(cls.code)
                return
            literal = _strings(code_arg)
            named = _resolve(code_arg, scope) if isinstance(code_arg, ast.Name | ast.Attribute) else None
            if isinstance(named, str):  # a module constant: code=ILLEGAL_TRANSITION
                literal = [named]
            if literal:
                self.found[cls.status].update(literal)
            if isinstance(code_arg, ast.Name) and code_arg.id in params and owner is not None:
                self.parametric.setdefault(id(owner), {})[code_arg.id] = cls.status
            return
        if not _ours(target):
            return
        self.function(target)
        wanted = self.parametric.get(id(inspect.unwrap(target)), {})
        if not wanted:
            return
        names = list(inspect.signature(target).parameters)
        passed: dict[str, ast.expr] = {k.arg: k.value for k in node.keywords if k.arg}
        passed.update({names[i]: a for i, a in enumerate(node.args) if i < len(names)})
        for name, status in wanted.items():
            if name in passed:
                self.found[status].update(_strings(passed[name]))


def _merge(*parts: Codes) -> Codes:
    out: Codes = defaultdict(set)
    for part in parts:
        for status, codes in part.items():
            out[status] |= codes
    return dict(out)


@cache
def _of_functions(*fns: types.FunctionType) -> Codes:
    w = _Walk()
    for fn in fns:
        w.function(fn)
    return {s: set(c) for s, c in w.found.items()}


@cache
def _of_module(name: str) -> Codes:
    w = _Walk()
    w.module(importlib.import_module(name))
    return {s: set(c) for s, c in w.found.items()}


@cache
def registry() -> dict[str, frozenset[int]]:
    """Every code the project raises anywhere (each module walked whole), with its statuses."""
    found: dict[str, set[int]] = defaultdict(set)
    for cls in _all_error_classes():
        found[cls.code].add(cls.status)
    w = _Walk()
    for name in _module_names():
        w.module(importlib.import_module(name))
    for status, codes in w.found.items():
        for code in codes:
            found[code].add(status)
    return {code: frozenset(statuses) for code, statuses in found.items()}


def _module_names() -> list[str]:
    names = []
    for base in SOURCES:
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base.parent).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if parts[0] == "functions":
                parts = parts[1:]
            if parts:
                names.append(".".join(parts))
    return names


def _all_error_classes() -> Iterable[type[errors.DomainError]]:
    return [c for c in vars(errors).values() if _error_class(c) is not None]


def adapter_codes(spec: Any) -> Codes:
    """What ``petcover.api`` itself answers for an operation of this shape, before or around it."""
    from petcover import api, authentication, authorization, idempotency

    parts: list[Codes] = [
        INTERNAL,
        {413: {errors.PayloadTooLarge.code}, 400: {"INVALID_IDEMPOTENCY_KEY"}},
        _of_module("petcover.storage.dynamo"),
    ]
    if spec.body is not None:
        parts.append({400: {"MALFORMED_JSON", "BODY_REQUIRED", "VALIDATION_FAILED"}})
    if spec.query is not None or getattr(spec, "path", None) is not None:
        parts.append({400: {"VALIDATION_FAILED"}})
    if spec.idempotent:
        parts.append({400: {"IDEMPOTENCY_KEY_REQUIRED"}})
        records = idempotency.run_once if spec.idempotent is True else idempotency.InTransaction.replay
        parts.append(_of_functions(records))  # type: ignore[arg-type]
    kind = spec.auth.kind
    if kind == "ops":
        parts.append(_of_functions(authentication.staff_principal))
        parts.append({403: {"ROLE_REQUIRED"}})
    elif kind == "portal":
        parts.append(_of_functions(authentication.portal_principal))
        parts.append({403: {"WRONG_PARTNER_KIND"}})
    elif kind in ("channel", "provider", "partner"):
        parts.append(_of_functions(authentication.partner_principal))
        parts.append({403: {"WRONG_PARTNER_KIND"}})
    if kind == "channel":
        parts.append(_of_functions(authorization.check))
    del api
    return _merge(*parts)


def operation_codes(handler: Any) -> Codes:
    """Every code the operation can answer with, per status (adapter, store, operation, declared)."""
    spec = handler.spec
    declared: Codes = defaultdict(set)
    for code in spec.errors:
        for status in registry().get(code, ()):
            declared[status].add(code)
    found = _merge(adapter_codes(spec), _of_functions(handler.operation), declared)
    return {status: codes for status, codes in sorted(found.items()) if codes}


def unknown_declarations(handler: Any) -> list[str]:
    """Codes an operation declares that the project never raises (a typo or a removed code)."""
    return [code for code in handler.spec.errors if code not in registry()]
