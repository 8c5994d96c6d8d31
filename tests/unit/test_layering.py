"""Each room of the layer imports only what its name says it may touch.

- domain/: pure rules, no I/O: nothing from storage, repositories, services, the adapter, boto3 or pynamodb.
- models/: API shapes: domain and identity only, never a service.
- repositories/: keys and item mapping over the Store port: no services, no adapter, no AWS SDK.
- services/: use cases: never the HTTP adapter, never boto3 or pynamodb, and never a key spelled inline.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "shared" / "petcover"

FORBIDDEN = {
    "domain": ("petcover.storage", "petcover.repositories", "petcover.services", "petcover.api", "boto3", "pynamodb"),
    "models": ("petcover.services", "petcover.repositories", "petcover.storage", "petcover.api", "boto3", "pynamodb"),
    "repositories": ("petcover.services", "petcover.api", "petcover.storage", "boto3", "pynamodb"),
    "services": ("petcover.api", "petcover.storage", "boto3", "pynamodb"),
}
# A DynamoDB key prefix such as "POLICY#" or f"APPT#{id}": only repositories build keys.
INLINE_KEY = re.compile(r"""(?:^|\W)f?["'][A-Z][A-Z_]{2,}#""")


def imported(path: Path) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return out


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_rooms_import_only_what_they_may_touch(room: str) -> None:
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line} imports {name}"
        for path in sorted((PACKAGE / room).rglob("*.py"))
        for name, line in imported(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[room])
    ]
    assert not wrong, "\n".join(wrong)


def test_services_never_spell_a_key() -> None:
    spelled = [
        f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
        for path in sorted((PACKAGE / "services").rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if INLINE_KEY.search(line)
    ]
    assert not spelled, "build these with a function in petcover/repositories:\n" + "\n".join(spelled)


def test_the_inline_key_pattern_catches_what_it_should() -> None:
    assert INLINE_KEY.search('p.store.get(f"POLICY#{number}", "POLICY")')
    assert INLINE_KEY.search("pk = 'OUTBOX#' + item_id")
    assert not INLINE_KEY.search('text = f"Policy {number} was cancelled"')
