"""Keys of the per-order locks: one lease item per order and module code."""

from __future__ import annotations

LOCK = "LOCK"


def lock_key(order_id: str, module: str) -> tuple[str, str]:
    return f"LOCK#{order_id}#{module}", LOCK
