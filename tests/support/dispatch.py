"""Dispatch inputs: rules and their publication, queue messages, and a recorder standing in for the assignment."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from petcover.models.dispatch import RulesPublish
from petcover.ports import Ports
from petcover.services.dispatch import rules as dispatch_rules
from tests.support.providers import STAFF

PUDONG = {"province": "310000", "city": "310100", "district": "310115"}


def rule(
    shares: dict[str, int],
    *,
    region: str = "310115",
    service: str = "checkup",
    capacity: int | dict[str, int] = 10_000,
    exclusive: str | None = None,
) -> dict[str, Any]:
    return {
        "region_code": region,
        "service_type": service,
        "providers": [
            {
                "provider_id": pid,
                "share_pct": pct,
                "weight": 0,
                "exclusive": pid == exclusive,
                "daily_capacity": capacity[pid] if isinstance(capacity, dict) else capacity,
                "scope": "regional",
            }
            for pid, pct in shares.items()
        ],
    }


def publish(p: Ports, *rules: dict[str, Any], **kw: Any) -> Any:
    return dispatch_rules.publish(p, STAFF, RulesPublish.model_validate({"rules": list(rules), **kw}))


def message(i: int | str, *, service: str = "checkup", region: dict[str, str] = PUDONG, **kw: Any) -> dict[str, Any]:
    return {
        "appointment_id": f"ap-{i}",
        "policy_number": "PC0001",
        "channel_id": "shop-a",
        "service_type": service,
        **region,
        **kw,
    }


class OtherContainer:
    """The same table seen from another container: its own cached rules (caches are kept per store)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class Assigned:
    """Stands in for fulfilment.assignment.assign: records what dispatch hands over."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, p: Ports, appointment_id: str, provider_id: str | None, decision: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append((appointment_id, provider_id, decision))

    def providers(self) -> Counter[str | None]:
        return Counter(pid for _, pid, _ in self.calls)
