"""1,000 underwrites against insurers that time out 20 % of the time (half of those issued late):
no order ends with two insurers' policies or none (on the in-memory store: the scenario is in
``tests/support/insurer_faults.py``; the same scenario runs against moto, smaller, in
tests/integration/test_insurers.py)."""

from __future__ import annotations

import os

import pytest

from petcover.domain.insurer_routing import INHOUSE
from tests.robustness import report
from tests.robustness.config import BUDGET
from tests.support import insurer_faults
from tests.support.clock import Clock

ORDERS = int(os.environ.get("INSURER_FAULT_ORDERS", "1000"))


@pytest.mark.robustness
def test_a_thousand_underwrites_with_timeouts_end_with_exactly_one_insurer_each(fake_ports):
    p, clock = fake_ports, Clock()
    p.clock = clock
    fakes = insurer_faults.setup(p, timeout_share=0.2)
    out = insurer_faults.run(p, clock, fakes, ORDERS)
    assert not out.two_insurers and not out.no_insurer and not out.wrong_insurer, out
    assert out.answers["pending_insurer"] >= ORDERS * 0.1, out.answers  # the faults did happen
    assert out.settle_runs <= 3, out.settle_runs  # bounded: one query settles or passes on
    assert out.webhooks == out.answers["pending_insurer"]  # one webhook per policy settled later
    assert sum(out.per_insurer.values()) == ORDERS and out.closed_keys > 0 and out.per_insurer[INHOUSE] > 0
    report.record_row(
        "faults-integration",
        "insurer-timeouts",
        report.Row(
            scenario=f"{ORDERS} underwrites, 2 insurers timing out 20 % of calls (half issued late): "
            f"{out.answers['pending_insurer']} answered 202 pending, all settled in {out.settle_runs} schedule runs; "
            f"orders per insurer {sorted(out.per_insurer.values(), reverse=True)}",
            injected="timeouts on underwrite calls; two overlapping settle runs",
            caught_by="pending_insurer + settle schedule querying with the idempotency key",
            outcome="caught",
            mode=BUDGET.mode,
            command=report.command(),
            invariants=3 * ORDERS,
        ),
    )
