"""Waiting on the observable outcome of an asynchronous step on the local cloud (never a stand-in for it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# A ceiling, not a pause: the wait ends as soon as the outcome is seen. Generous because the emulator
# cold-starts functions on first use and a loaded CI machine can take minutes for the first of them.
DEFAULT_SECONDS = 300.0


def wait_for(fn: Callable[[], Any], what: str, timeout: float = DEFAULT_SECONDS, every: float = 0.5) -> Any:
    """Polls ``fn`` until it returns something truthy and returns that; fails naming ``what``."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")
