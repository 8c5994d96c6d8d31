"""Bounded (inside ``make test``) or full (``make robustness``: ROBUSTNESS=full) sizes.

The bounded form keeps the whole suite well under three minutes on a 2-core machine on top of
the shared deploy; the full form runs longer, with more examples, over HTTP for every operation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

FULL = os.environ.get("ROBUSTNESS", "").lower() == "full"


@dataclass(frozen=True)
class Budget:
    mode: str
    # hostile input
    inprocess_examples: int  # per operation and generation mode, every operation, in-process (moto)
    http_examples: int  # per operation and generation mode, over HTTP on the local cloud
    http_all_operations: bool  # False: the channel-facing operations only (cold starts cost ~3 s each)
    http_budget_seconds: float
    # load
    load_seconds: float
    load_max_requests: int
    load_workers: int
    peak_factor: float  # times the documented peak (2 underwrites/s)
    # faults / security
    settle_seconds: float  # how long async steps may take to settle before invariants are read


BOUNDED = Budget(
    mode="bounded",
    inprocess_examples=3,
    http_examples=5,
    http_all_operations=False,
    http_budget_seconds=60,
    load_seconds=10,
    load_max_requests=1200,
    load_workers=2,
    peak_factor=10,
    settle_seconds=30,
)
FULL_BUDGET = Budget(
    mode="full",
    inprocess_examples=25,
    http_examples=10,
    http_all_operations=True,
    http_budget_seconds=1800,
    load_seconds=60,
    load_max_requests=12_000,
    load_workers=8,
    peak_factor=10,
    settle_seconds=120,
)

BUDGET = FULL_BUDGET if FULL else BOUNDED
DOCUMENTED_PEAK_UNDERWRITES_PER_SECOND = 2.0
