"""openapi.json is the truth: schemathesis's engine, every phase and every check, over every operation.

In-process against moto (``tests.robustness.contract``): each generated request is signed after it
is generated (so negative cases reach the handler), ops calls carry an admin token, and half of the
generated cases use objects that exist (a policy, a claim, the target channel and partner). The
bounded form runs a few examples per operation; ``CONTRACT_FUZZ_EXAMPLES=25`` (or ROBUSTNESS=full)
runs more; ``CONTRACT_FUZZ_ONLY=<regex>`` limits the run to the operations ("PUT /ops/commodities/{sku}")
it matches. Figures: ``pytest tests/integration/test_contract_fuzz.py -s``.

The per-operation phases (examples, coverage, fuzzing) run in ``SHARDS`` tests that split the
operations between them, so parallel workers share the work; the stateful phase follows links
between operations, so it runs once over all of them.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.robustness import contract, fuzz, inproc_world
from tests.robustness.config import FULL

EXAMPLES = int(os.environ.get("CONTRACT_FUZZ_EXAMPLES", "25" if FULL else "2"))
ONLY = os.environ.get("CONTRACT_FUZZ_ONLY")
SHARDS = 12
PER_OPERATION = ("examples", "coverage", "fuzzing")
# Checks that only a sequence of calls exercises (a created object, then calls on it).
STATEFUL_CHECKS = {"use_after_free", "ensure_resource_availability"}


def _fuzz(phases: tuple[str, ...], chosen: Callable[[str], bool]) -> tuple[contract.ContractResult, Any, dict]:
    from petcover import cognito, runtime

    world = inproc_world.build(runtime.ports())
    kinds = {op: kind for op, kind in fuzz.auth_kinds().items() if chosen(op)}
    app = contract.SigningApp(
        {"channel": world.channel_key, "provider": world.provider_key, "partner": world.provider_key},
        fuzz.auth_kinds(),
        stand_ins=world.stand_ins,
    )
    portal = cognito.mint_demo("test-ops-secret", "fuzz", "provider", world.provider_id, now=int(time.time()))
    result = contract.run(
        app,
        ops_token=contract.ops_token("test-ops-secret"),
        portal_token=portal,
        examples=EXAMPLES,
        known=world.examples,
        only=chosen,
        phases=phases,
    )
    print(contract.summary(result, app))
    assert result.errors == []
    assert result.failures == {}, contract.failure_text(result)
    return result, app, kinds


def _only(op: str) -> bool:
    return ONLY is None or re.search(ONLY, op) is not None


@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_operation_keeps_the_contract(aws, shard):
    ops = sorted(op for op in fuzz.auth_kinds() if _only(op))
    mine = set(ops[shard::SHARDS])
    if not mine:
        pytest.skip("CONTRACT_FUZZ_ONLY leaves this shard no operation")
    result, app, kinds = _fuzz(PER_OPERATION, mine.__contains__)

    assert set(kinds) <= result.operations, f"not exercised: {sorted(set(kinds) - result.operations)}"
    # Every operation got past authentication, and every operation on an object reached it at least once.
    unsigned = sorted(op for op in kinds if not set(app.by_operation.get(op, {})) - {401})
    assert unsigned == []
    assert set(contract.CHECKS_RUN) - STATEFUL_CHECKS <= set(result.checks)


def test_sequences_of_calls_keep_the_contract(aws):
    result, _app, _kinds = _fuzz(("stateful",), _only)

    assert result.cases > 0
    if ONLY is None:
        assert set(result.checks) >= STATEFUL_CHECKS
