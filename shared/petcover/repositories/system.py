"""The health probe: one fixed item that proves the table answers (written by the demo seed)."""

from __future__ import annotations

from petcover.ports import Item


def health_key() -> tuple[str, str]:
    return "HEALTH", "HEALTH"


def health_item() -> Item:
    pk, sk = health_key()
    return {"pk": pk, "sk": sk, "kind": "health"}
