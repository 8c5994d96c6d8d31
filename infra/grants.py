"""What each function of template.yaml needs beyond the main table, derived from its code.

    python -m infra.grants              # every function's Environment and Policies, as YAML
    python -m infra.grants --check      # where template.yaml differs (exit status 1 if it does)
    python -m infra.grants --write      # rewrite those two sections of every function in place
    python -m infra.grants --why NAME   # one function's needs and the code lines behind them

(run from the repository root with PYTHONPATH=shared:functions:. as the Makefile sets it).

What the reachable code of a function uses (``infra.facts``) becomes:

  a queue it sends to      <QUEUE>_URL and SQSSendMessagePolicy on that queue
  a queue it polls         <QUEUE>_URL and SQSPollerPolicy on that queue (redrive, backoff)
  an event it emits        EVENT_BUS and EventBridgePutEventsPolicy on the bus
  a blob key prefix        DOCUMENT_BUCKET and s3 statements on that prefix only
  a sealed secret          SECRETS_KEY_ID and KMSEncryptPolicy / KMSDecryptPolicy on the key
  the ops chat setting     OPS_CHAT_URL (any other per-function setting it reads likewise)

and the handler's own declaration adds the rest: ``@api(idempotent=True)`` needs
IDEMPOTENCY_TABLE and DynamoDBCrudPolicy on it, ``@api(auth=ops(...))`` needs OPS_TOKEN_SECRET,
a partner signature (``channel``, ``provider``, ``partner``) needs to open signing keys:
SECRETS_KEY_ID and KMSDecryptPolicy. The adapter (``petcover.api``) does these only then, so
what it reaches is not read as the handler's own use. Main-table policies are written by hand.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

from infra import template, template_edit
from infra.facts import Facts, Use
from infra.permissions import EVENTS, IDEMPOTENCY, SECRETS_KEY, SES_SEND, Needs, collapse, granted, queue_resource
from infra.reach import MODULE_CODE, Index, Node
from petcover.api import specs_of
from petcover.config import QUEUES

# The HTTP adapter: what it reaches runs by the handler's declaration (auth, idempotency), not always.
ADAPTER = frozenset({"petcover.api"})
PARTNER_AUTH = ("channel", "provider", "partner")


def add_use(needs: Needs, use: Use) -> None:
    """One use in the code as the variable and grant it needs."""
    if use.kind == "problem":
        needs.problems.append(f"{use.where}: {use.target}")
    elif use.kind in ("queue", "sqs:send", "sqs:poll"):
        if use.target not in QUEUES:
            needs.problems.append(f"{use.where}: no queue named '{use.target}' in petcover.config.QUEUES")
            return
        needs.setting(QUEUES[use.target], use.where)
        needs.grant(("sqs:send" if use.kind == "queue" else use.kind, queue_resource(use.target)), use.where)
    elif use.kind == "events":
        needs.setting("event_bus", use.where)
        needs.grant(EVENTS, use.where)
    elif use.kind.startswith("s3:"):
        needs.setting("bucket", use.where)
        needs.grant((use.kind, use.target), use.where)
    elif use.kind.startswith("kms:"):
        needs.setting("secrets_key", use.where)
        needs.grant((use.kind, use.target), use.where)
    elif use.kind == "mail":
        needs.setting("mail_from", use.where)
        needs.setting("mail_sink_url", use.where)
        needs.grant(SES_SEND, use.where)
    elif use.kind == "setting":
        needs.setting(use.target, use.where)
    elif use.kind == "layer":
        needs.layers.add(use.target)
        needs.why.setdefault(f"layer {use.target}", set()).add(use.where)


class Analysis:
    """The code of every handler, read once."""

    def __init__(self, roots: list[Path] | None = None) -> None:
        self.index = Index(roots or [template.ROOT / "shared", template.ROOT / "functions"])
        self.facts = Facts(self.index)

    @cached_property
    def outbox_writes(self) -> set[Use]:
        return self.facts.all_outbox_writes()

    def uses(self, module: str, attr: str) -> Iterator[Use]:
        facts = self.facts
        for node in self.index.reachable((module, MODULE_CODE), (module, attr), stop=ADAPTER):
            yield from (u for u in facts.uses(node) if u.kind != "relay")
            sweeps = node[0] not in facts.relay_modules and self.index.graph[node] & facts.relay_entries
            if sweeps and not self.writes_outbox_within(node):
                yield from self.outbox_writes  # it relays what anybody wrote

    def writes_outbox_within(self, node: Node) -> bool:
        """It, or what it calls, writes outbox messages: a releaser of its own messages, not a sweeper."""
        return any(self.facts.writes_outbox(n) for n in self.index.reachable(node))

    def needs(self, function: str) -> Needs:
        module, attr = template.handler_module(template.functions()[function]["Properties"]["Handler"])
        out = Needs()
        for use in self.uses(module, attr):
            add_use(out, use)
        declared = f"{module}.{attr} (@api)"
        for spec in specs_of(getattr(importlib.import_module(module), attr)):
            if spec.idempotent is True:  # "in_transaction" records in the main table
                out.setting("idempotency_table_name", declared)
                out.grant(IDEMPOTENCY, declared)
            if spec.auth.kind in ("ops", "portal"):  # the portal's local demo tokens share the secret
                out.setting("ops_token", declared)
            if spec.auth.kind in PARTNER_AUTH:
                out.setting("secrets_key", declared)
                out.grant(("kms:Decrypt", SECRETS_KEY), declared)
        out.grants = collapse(out.grants)
        return out


def differences(need: Needs, have: Needs) -> list[str]:
    out = [f"cannot tell: {p}" for p in need.problems]
    for var in sorted(need.env.keys() | have.env.keys()):
        want, got = need.env.get(var), have.env.get(var)
        if want != got:
            out.append(f"{var}: the code needs {want or 'nothing'}, the template gives {got or 'nothing'}")
    out += [f"imports from {layer} but does not list it" for layer in sorted(need.layers - have.layers)]
    out += [f"lists {layer} but imports nothing from it" for layer in sorted(have.layers - need.layers)]
    out += [f"used but not granted: {' '.join(g)}" for g in sorted(need.grants - have.grants)]
    out += [f"granted but not used: {' '.join(g)}" for g in sorted(have.grants - need.grants)]
    return out


def main(argv: list[str]) -> int:
    analysis = Analysis()
    names = list(template.functions())
    if argv[:1] == ["--why"]:
        need = analysis.needs(argv[1])
        for key, wheres in sorted(need.why.items()):
            print(key)
            for where in sorted(wheres):
                print(f"    {os.path.relpath(where.rsplit(':', 1)[0])}:{where.rsplit(':', 1)[1]}")
        for problem in need.problems:
            print(f"cannot tell: {problem}")
        return 0
    needs = {name: analysis.needs(name) for name in names}
    if argv[:1] == ["--write"]:
        template.TEMPLATE.write_text(template_edit.rewrite(template.TEMPLATE.read_text(), needs))
        return 0
    if argv[:1] == ["--check"]:
        failing = 0
        for name in names:
            diff = differences(needs[name], granted(name))
            failing += bool(diff)
            for line in diff:
                print(f"{name}: {line}")
        return 1 if failing else 0
    for name in names:  # main-table policies are left out: they are written by hand
        lines = [f"  {name}:", *template_edit.layers(needs[name].layers), *template_edit.environment(needs[name].env)]
        derived = template_edit.policies(needs[name])
        print("\n".join(lines + (["      Policies:", *derived] if derived else [])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
