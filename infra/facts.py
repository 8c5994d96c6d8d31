"""What code touches outside the main table, read from the source (see ``infra.reach``).

A *use* is one place in the code that needs something a function must be given:

- ``queue``: ``<ports>.publisher.send("<queue>", ...)``, or an outbox message written with
  ``queue="<queue>"`` (the writer releases it itself);
- ``events``: ``<ports>.publisher.emit(...)`` or an outbox message with ``detail_type=``;
- ``sqs:send`` / ``sqs:poll``: an SQS client call with ``QueueUrl=`` a queue URL setting (also
  through a parameter its callers fill with one);
- ``s3:<Action>``: a blob store call (``put_bytes``, ``get_bytes``, ``presign_put``), on the
  literal key prefix the key is built from (``f"reports/daily/{day}.csv"`` -> ``reports/daily/``);
  a key read from data gets the prefix every resolved key of its module (or package) shares;
- ``kms:Encrypt`` / ``kms:Decrypt``: sealing or opening a secret (``seal_secret``, ``open_secret``);
- ``mail``: sending mail through the mailer port (``send_mail``): SES from the stack's address,
  or the local sink;
- ``setting``: a read of a per-function setting (``config.GRANTED``), e.g. ``ops_chat_url``;
- ``layer``: an import of a package of the documents layer (``DOCUMENT_PACKAGES``);
- ``relay``: a send or emit whose target comes from data, i.e. an outbox relay;
- ``problem``: something this reading cannot tell; the permission test fails on it.

Queue names and detail types are literals or module constants. Adapter classes (those that
implement a ``Protocol`` of the layer) are the mechanism behind the uses, not uses themselves;
the composition root and the settings module only build adapters for what is configured.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from infra.reach import MODULE_CODE, Index, Node, attribute_chain
from petcover.config import GRANTED, QUEUES
from petcover.mail import SesMailer
from petcover.runtime import KmsSecretBox, S3Blobs

COMPOSITION = ("petcover.config", "petcover.runtime", "petcover.mail")
SQS_ACTIONS = {
    "send_message": "sqs:send",
    "send_message_batch": "sqs:send",
    "receive_message": "sqs:poll",
    "delete_message": "sqs:poll",
    "delete_message_batch": "sqs:poll",
    "change_message_visibility": "sqs:poll",
    "change_message_visibility_batch": "sqs:poll",
    "get_queue_attributes": "sqs:poll",  # SQSPollerPolicy is the narrowest SAM template that allows it
}
QUEUE_OF_FIELD = {field: queue for queue, field in QUEUES.items()}
# What infra/layers/documents/requirements.txt installs, by import name: a function whose code
# imports one of these gets that layer.
DOCUMENT_PACKAGES = frozenset({"matplotlib", "openpyxl", "numpy", "PIL", "contourpy", "reportlab"})
DOCUMENTS_LAYER = "DocumentsLayer"
MAX_DEPTH = 6


@dataclass(frozen=True)
class Use:
    kind: str
    target: str
    where: str
    outbox: bool = False  # an outbox message: written here, relayed by its writer or the sweeper


@dataclass(frozen=True)
class Scope:
    """Where an expression sits: its module and the innermost function around it."""

    module: str
    function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | None
    top: Node

    def assigned(self, name: str) -> list[ast.AST]:
        if self.function is None or isinstance(self.function, ast.Lambda):
            return []
        out: list[ast.AST] = []
        for stmt in ast.walk(self.function):
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
                out.append(stmt.value)
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name:
                out += [stmt.value] if stmt.value else []
        return out

    def parameter(self, name: str) -> int | None:
        """The position of a parameter of the enclosing function (keyword-only ones: -1)."""
        if self.function is None:
            return None
        args = self.function.args
        positional = [a.arg for a in (*args.posonlyargs, *args.args)]
        if name in positional:
            return positional.index(name)
        return -1 if name in [a.arg for a in args.kwonlyargs] else None


def _walk(part: ast.AST, module: str, top: Node) -> Iterator[tuple[ast.AST, Scope, ast.ClassDef | None]]:
    """Every expression with its scope and the class around it."""
    todo: list[tuple[ast.AST, Scope, ast.ClassDef | None]] = [(part, Scope(module, None, top), None)]
    while todo:
        node, scope, cls = todo.pop()
        yield node, scope, cls
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            scope = Scope(module, node, top)
        if isinstance(node, ast.ClassDef):
            cls = node
        todo.extend((child, scope, cls) for child in ast.iter_child_nodes(node))


def imports_any(stmt: ast.Import | ast.ImportFrom, packages: frozenset[str]) -> bool:
    """The statement imports (from) one of these top-level packages."""
    if isinstance(stmt, ast.ImportFrom):
        return stmt.level == 0 and (stmt.module or "").split(".")[0] in packages
    return any(alias.name.split(".")[0] in packages for alias in stmt.names)


def _common_prefix(prefixes: set[str]) -> str:
    """The leading text all share, up to its last '/'."""
    first, last = min(prefixes), max(prefixes)
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last)))
    return first[: first.rfind("/", 0, size) + 1]


def _methods(cls: ast.ClassDef) -> set[str]:
    return {f.name for f in cls.body if isinstance(f, ast.FunctionDef)}


class Facts:
    def __init__(self, index: Index) -> None:
        self.index = index
        self._uses: dict[Node, list[Use]] = {}
        self._candidates: dict[Node, list[tuple[ast.Call, Scope]]] = {}

    # -------------------------------------------------------------- adapters and relays
    @cached_property
    def adapter_classes(self) -> set[str]:
        """Classes that implement a Protocol of the layer (a store, a publisher, a blob store)."""
        classes = [c for m in self.index.modules.values() for c in ast.walk(m.tree) if isinstance(c, ast.ClassDef)]
        is_protocol = {c.name: any(ast.unparse(b).endswith("Protocol") for b in c.bases) for c in classes}
        protocols = [_methods(c) for c in classes if is_protocol[c.name] and _methods(c)]
        return {c.name for c in classes if not is_protocol[c.name] and any(p <= _methods(c) for p in protocols)}

    @cached_property
    def relay_modules(self) -> set[str]:
        return {node[0] for node in self.index.graph if any(u.kind == "relay" for u in self._direct(node))}

    @cached_property
    def relay_entries(self) -> set[Node]:
        """Definitions of a relay module from which its relay runs (e.g. release, sweep)."""
        relays = {n for n in self.index.graph if n[0] in self.relay_modules and self._has("relay", n)}
        out = set()
        for node in self.index.graph:
            if node[0] in self.relay_modules and node[1] != MODULE_CODE and self.index.reachable(node) & relays:
                out.add(node)
        return out

    def _has(self, kind: str, node: Node) -> bool:
        return any(u.kind == kind for u in self._direct(node))

    def writes_outbox(self, node: Node) -> bool:
        return any(u.outbox for u in self.uses(node))

    def all_outbox_writes(self) -> set[Use]:
        return {u for n in self.index.graph for u in self.uses(n) if u.outbox}

    # -------------------------------------------------------------- uses of one node
    def uses(self, node: Node) -> list[Use]:
        return self._direct(node) + self._outbox(node)

    def _direct(self, node: Node) -> list[Use]:
        if node not in self._uses:
            self._scan(node)
        return self._uses[node]

    def _scan(self, node: Node) -> None:
        """One pass over a node: its uses, and the calls that may write outbox messages."""
        module = node[0]
        where = self.index.modules[module].where
        uses: list[Use] = []
        candidates: list[tuple[ast.Call, Scope]] = []
        for part in self.index.body(node):
            for expr, scope, cls in _walk(part, module, node):
                if cls is not None and cls.name in self.adapter_classes:
                    continue
                if isinstance(expr, ast.Import | ast.ImportFrom) and imports_any(expr, DOCUMENT_PACKAGES):
                    uses.append(Use("layer", DOCUMENTS_LAYER, where(expr)))
                if isinstance(expr, ast.Attribute) and expr.attr in GRANTED and module not in COMPOSITION:
                    uses.append(Use("setting", expr.attr, where(expr)))
                if isinstance(expr, ast.Call):
                    uses += self._call(expr, scope, where(expr))
                    if any(k.arg in ("queue", "detail_type") for k in expr.keywords):
                        candidates.append((expr, scope))
        self._uses[node] = uses
        self._candidates[node] = candidates

    def _call(self, call: ast.Call, scope: Scope, where: str) -> list[Use]:
        return list(self._call_uses(call, scope, where))

    def _call_uses(self, call: ast.Call, scope: Scope, where: str) -> Iterator[Use]:
        func = call.func
        method = func.attr if isinstance(func, ast.Attribute) else None
        keywords: dict[str, ast.AST] = {k.arg: k.value for k in call.keywords if k.arg}
        if method in ("send", "emit") and isinstance(func, ast.Attribute):
            yield from self._publish(method, func, call, keywords, scope, where)
        elif method in S3Blobs.ACTIONS:
            yield from self._blob(method, call, keywords, scope, where)
        elif method in KmsSecretBox.ACTIONS:
            yield from (Use(action, "SecretsKey", where) for action in KmsSecretBox.ACTIONS[method])
        elif method in SesMailer.ACTIONS:
            yield Use("mail", "MailFrom", where)
        elif "QueueUrl" in keywords:
            yield from self._sqs(str(method), keywords["QueueUrl"], scope, where)
        elif "Bucket" in keywords or method in ("put_events", "generate_presigned_url"):
            yield Use("problem", f"a direct S3/EventBridge call ({method}); go through the ports", where)

    def _publish(
        self, method: str, func: ast.Attribute, call: ast.Call, kw: dict[str, ast.AST], scope: Scope, where: str
    ) -> Iterator[Use]:
        receiver = attribute_chain(func.value)
        names = [receiver[0].id] if isinstance(receiver[0], ast.Name) else []
        if (receiver[1] or names)[-1:] != ["publisher"]:
            yield Use("problem", f"cannot tell whether .{method}() is the publisher; call p.publisher.{method}", where)
            return
        arg = call.args[0] if call.args else kw.get("queue" if method == "send" else "detail_type")
        values = self.strings(arg, scope) if arg is not None else None
        if values is None:
            yield Use("relay", method, where)
            return
        for value in values:
            yield Use("queue", value, where) if method == "send" else Use("events", value, where)

    def _outbox(self, node: Node) -> list[Use]:
        """Outbox messages this node writes: calls into a relay module naming a queue or detail type."""
        module = node[0]
        if module in self.relay_modules:
            return []
        self._direct(node)
        out = []
        for call, scope in self._candidates[node]:
            if not any(m in self.relay_modules for m, _ in self.index.resolve_expr(module, call.func)):
                continue
            where = self.index.modules[module].where(call)
            for kw in call.keywords:
                kind = {"queue": "queue", "detail_type": "events"}.get(kw.arg or "")
                values = self.strings(kw.value, scope) if kind else set()
                if values is None:
                    out.append(Use("problem", f"an outbox message whose {kw.arg} comes from data; name it", where))
                for value in values or ():
                    out.append(Use(str(kind), value, where, outbox=True))
        return out

    # -------------------------------------------------------------- SQS clients
    def _sqs(self, method: str, url: ast.AST, scope: Scope, where: str) -> Iterator[Use]:
        action = SQS_ACTIONS.get(method)
        if action is None:
            yield Use("problem", f"sqs {method}: no policy template is mapped for it", where)
            return
        fields = self.queue_fields(url, scope, 0)
        if not fields:
            yield Use("problem", f"sqs {method}: cannot tell which queue (QueueUrl from a queue setting)", where)
        for field in fields or ():
            yield Use(action, QUEUE_OF_FIELD[field], where)

    def queue_fields(self, expr: ast.AST, scope: Scope, depth: int) -> set[str] | None:
        """The queue URL settings an expression can be: read here, assigned, or passed by callers."""
        if isinstance(expr, ast.Attribute) and expr.attr in QUEUE_OF_FIELD:
            return {expr.attr}
        if depth > MAX_DEPTH or not isinstance(expr, ast.Name):
            return None
        parts = [self.queue_fields(value, scope, depth + 1) for value in scope.assigned(expr.id)]
        parts += [self.queue_fields(arg, at, depth + 1) for arg, at in self._passed(expr.id, scope)]
        return self._union(parts) if parts else None

    def _passed(self, name: str, scope: Scope) -> list[tuple[ast.AST, Scope]]:
        """What callers pass for ``name`` when it is a parameter of the top-level function around it."""
        position = scope.parameter(name)
        top = self.index.modules[scope.module].definitions.get(scope.top[1])
        if position is None or top is not scope.function:
            return []
        return list(self._arguments(scope, name, position))

    def _arguments(self, scope: Scope, name: str, position: int) -> Iterator[tuple[ast.AST, Scope]]:
        """What every call of the enclosing top-level function passes for one of its parameters."""
        target = scope.top
        for mod in self.index.modules.values():
            for top in [(mod.name, MODULE_CODE), *((mod.name, d) for d in mod.definitions)]:
                if target not in self.index.graph.get(top, ()):
                    continue
                for part in self.index.body(top):
                    for expr, caller, _ in _walk(part, mod.name, top):
                        if isinstance(expr, ast.Call) and target in self.index.resolve_expr(mod.name, expr.func):
                            given = {k.arg: k.value for k in expr.keywords}
                            if name in given:
                                yield given[name], caller
                            elif 0 <= position < len(expr.args):
                                yield expr.args[position], caller

    # -------------------------------------------------------------- blobs
    def _blob(self, method: str, call: ast.Call, kw: dict[str, ast.AST], scope: Scope, where: str) -> Iterator[Use]:
        key = call.args[0] if call.args else kw.get("key")
        prefixes = self.key_prefixes(key, scope, 0) if key is not None else None
        if not prefixes:
            shared = self.module_prefix(scope.module)
            if not shared:
                yield Use("problem", f"{method}: cannot tell which keys; build the key from a literal prefix", where)
                return
            prefixes = {shared}
        for action in S3Blobs.ACTIONS[method]:
            for prefix in prefixes:
                yield Use(action, prefix, where)

    def key_prefixes(self, expr: ast.AST | None, scope: Scope, depth: int) -> set[str] | None:
        """The literal prefixes (up to a '/') a key expression starts with; None when unknown."""
        texts = self._texts(expr, scope, depth)
        if texts is None:
            return None
        prefixes = {t[: t.rfind("/") + 1] for t in texts}
        return None if "" in prefixes or not prefixes else prefixes

    def _texts(self, expr: ast.AST | None, scope: Scope, depth: int) -> set[str] | None:
        if expr is None or depth > MAX_DEPTH:
            return None
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.JoinedStr):
            first = expr.values[0] if expr.values else None
            return {first.value} if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self._texts(expr.left, scope, depth + 1)
        if isinstance(expr, ast.Call):
            if isinstance(expr.func, ast.Name) and expr.func.id == "str" and expr.args:
                return self._texts(expr.args[0], scope, depth + 1)
            return self._returns(expr, scope, depth)
        if isinstance(expr, ast.Subscript):
            return self._item(expr, scope, depth)
        if isinstance(expr, ast.Dict):
            return self._union([self._texts(v, scope, depth + 1) for v in expr.values])
        if isinstance(expr, ast.Name):
            values = scope.assigned(expr.id)
            if values:
                return self._union([self._texts(v, scope, depth + 1) for v in values])
            if scope.parameter(expr.id) is None:
                return self._constant(scope.module, expr, depth)
        return None

    def _union(self, parts: list[set[str] | None]) -> set[str] | None:
        if any(p is None for p in parts):
            return None
        return set().union(*parts)  # type: ignore[arg-type]

    def _item(self, expr: ast.Subscript, scope: Scope, depth: int) -> set[str] | None:
        """``keys["csv"]``: that entry of a dict literal assigned in the same function, else any
        value of whatever ``keys`` is (a constant, what a function returns)."""
        key = expr.slice.value if isinstance(expr.slice, ast.Constant) else None
        local = scope.assigned(expr.value.id) if isinstance(expr.value, ast.Name) else []
        dicts = [v for v in local if isinstance(v, ast.Dict)]
        if key is not None and local and len(dicts) == len(local):
            values = [v for d in dicts for k, v in zip(d.keys, d.values, strict=True) if _is(k, key)]
            return self._union([self._texts(v, scope, depth + 1) for v in values]) if values else None
        return self._texts(expr.value, scope, depth + 1)

    def _returns(self, call: ast.Call, scope: Scope, depth: int) -> set[str] | None:
        """What a function of ours returns, when each ``return`` is a key expression."""
        targets = self.index.resolve_expr(scope.module, call.func)
        defs = [(m, self.index.modules[m].definitions.get(n)) for m, n in targets if n != MODULE_CODE]
        parts: list[set[str] | None] = []
        for module, fn in defs:
            if not isinstance(fn, ast.FunctionDef):
                return None
            inner = Scope(module, fn, (module, fn.name))
            parts += [self._texts(r.value, inner, depth + 1) for r in ast.walk(fn) if isinstance(r, ast.Return)]
        return self._union(parts) if parts else None

    def _constant(self, module: str, name: ast.Name, depth: int) -> set[str] | None:
        nodes = self.index.resolve(module, name.id)
        parts: list[set[str] | None] = []
        for mod, defined in nodes:
            stmt = self.index.modules[mod].definitions.get(defined)
            if not isinstance(stmt, ast.Assign | ast.AnnAssign) or stmt.value is None:
                return None
            parts.append(self._texts(stmt.value, Scope(mod, None, (mod, MODULE_CODE)), depth + 1))
        return self._union(parts) if parts else None

    def module_prefix(self, module: str) -> str:
        """The prefix the resolved keys of ``module`` share, else those of its package (not of
        ``petcover`` or ``petcover.services`` as a whole: they hold every kind of key)."""
        scopes = [module]
        while scopes[-1].count(".") >= 3:
            scopes.append(scopes[-1].rpartition(".")[0])
        for scope in scopes:
            inside = [m for m in self.index.modules if m == scope or m.startswith(f"{scope}.")]
            found = {u.target for m in inside for u in self._keys(m)}
            if found:
                return _common_prefix(found)
        return ""

    def _keys(self, module: str) -> Iterator[Use]:
        mod = self.index.modules[module]
        for node in [(module, MODULE_CODE), *((module, d) for d in mod.definitions)]:
            for part in self.index.body(node):
                for expr, scope, _ in _walk(part, module, node):
                    if not isinstance(expr, ast.Call) or not expr.args:
                        continue
                    if isinstance(expr.func, ast.Attribute) and expr.func.attr in S3Blobs.ACTIONS:
                        for prefix in self.key_prefixes(expr.args[0], scope, 0) or ():
                            yield Use("key", prefix, mod.where(expr))

    # -------------------------------------------------------------- strings
    def strings(self, expr: ast.AST, scope: Scope, depth: int = 0) -> set[str] | None:
        """The literal strings an expression can be: a literal, a module constant, a local or a
        parameter its callers fill with one; None when it comes from data."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if depth > MAX_DEPTH or not isinstance(expr, ast.Name | ast.Attribute):
            return None
        if isinstance(expr, ast.Name) and (scope.assigned(expr.id) or scope.parameter(expr.id) is not None):
            parts = [self.strings(v, scope, depth + 1) for v in scope.assigned(expr.id)]
            parts += [self.strings(arg, at, depth + 1) for arg, at in self._passed(expr.id, scope)]
            return self._union(parts) if parts else None
        parts = []
        for module, name in self.index.resolve_expr(scope.module, expr):
            stmt = self.index.modules[module].definitions.get(name)
            value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
            parts.append(self.strings(value, Scope(module, None, (module, MODULE_CODE)), depth + 1) if value else None)
        return self._union(parts) if parts else None


def _is(key: ast.AST | None, value: object) -> bool:
    return isinstance(key, ast.Constant) and key.value == value
