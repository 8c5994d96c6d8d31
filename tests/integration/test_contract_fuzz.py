"""openapi.json is the truth: schemathesis's engine, every phase and every check, over every operation.

In-process against moto (``tests.robustness.contract``): each generated request is signed after it
is generated (so negative cases reach the handler), ops calls carry an admin token, and half of the
generated cases use objects that exist (a policy, a claim, the target channel and partner). The
bounded form runs a few examples per operation; ``CONTRACT_FUZZ_EXAMPLES=25`` (or ROBUSTNESS=full)
runs more; ``CONTRACT_FUZZ_ONLY=<regex>`` limits the run to the operations ("PUT /ops/commodities/{sku}")
it matches. Figures: ``pytest tests/integration/test_contract_fuzz.py -s``.
"""

from __future__ import annotations

import os
import re
import time

from tests.robustness import contract, fuzz, inproc_world
from tests.robustness.config import FULL

EXAMPLES = int(os.environ.get("CONTRACT_FUZZ_EXAMPLES", "25" if FULL else "2"))
ONLY = os.environ.get("CONTRACT_FUZZ_ONLY")


def test_every_operation_keeps_the_contract(aws):
    from petcover import cognito, runtime

    world = inproc_world.build(runtime.ports())
    kinds = fuzz.auth_kinds()
    app = contract.SigningApp(
        {"channel": world.channel_key, "provider": world.provider_key, "partner": world.provider_key},
        kinds,
        stand_ins=world.stand_ins,
    )
    only = re.compile(ONLY).search if ONLY else None
    portal = cognito.mint_demo("test-ops-secret", "fuzz", "provider", world.provider_id, now=int(time.time()))
    result = contract.run(
        app,
        ops_token=contract.ops_token("test-ops-secret"),
        portal_token=portal,
        examples=EXAMPLES,
        known=world.examples,
        only=only,
    )
    if only is not None:
        kinds = {op: kind for op, kind in kinds.items() if only(op)}
    print(contract.summary(result, app))

    assert result.errors == []
    assert result.failures == {}, contract.failure_text(result)
    assert set(kinds) <= result.operations, f"not exercised: {sorted(set(kinds) - result.operations)}"
    # Every operation got past authentication, and every operation on an object reached it at least once.
    unsigned = sorted(op for op in kinds if not set(app.by_operation.get(op, {})) - {401})
    assert unsigned == []
    assert set(contract.CHECKS_RUN) <= set(result.checks)
