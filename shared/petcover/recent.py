"""Per-container caches of rarely changing configuration, with a bounded staleness.

A warm Lambda container keeps what it read for ``seconds`` (five, like product heads and
contracts): every call that needs it then costs no round trip, and a change made elsewhere is
seen by every container within that bound. A change made in this container is seen at once
(``forget``). Values are kept per table, so a test that swaps stores never reads another's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from petcover.ports import Store

V = TypeVar("V")
SECONDS = 5.0
_all: list[Recent[Any]] = []


def _table(store: Store) -> Any:
    return getattr(store, "inner", store)  # through authorization.Prefetched, the table itself


class Recent(Generic[V]):
    def __init__(self, seconds: float = SECONDS) -> None:
        self.seconds = seconds
        self._kept: dict[Hashable, tuple[Any, float, V]] = {}
        self._lock = threading.Lock()
        _all.append(self)

    def get(self, store: Store, key: Hashable, load: Callable[[], V]) -> V:
        """What ``load()`` answered for ``key`` at most ``seconds`` ago, or its answer now."""
        table = _table(store)
        with self._lock:
            hit = self._kept.get(key)
        if hit is not None and hit[0] is table and time.monotonic() - hit[1] < self.seconds:
            return hit[2]
        value = load()
        with self._lock:
            self._kept[key] = (table, time.monotonic(), value)
        return value

    def forget(self, key: Hashable | None = None) -> None:
        with self._lock:
            if key is None:
                self._kept.clear()
            else:
                self._kept.pop(key, None)


def forget_all() -> None:
    """Every cache of this kind (tests that swap stores, or change configuration in-process)."""
    for cache in _all:
        cache.forget()
