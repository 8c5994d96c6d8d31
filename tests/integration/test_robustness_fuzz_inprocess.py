"""Hostile input, every operation in-process against moto: the routed handler gets the exact request
bytes a client would send, signed with a channel / provider key or an admin token. No 5xx, every
refusal uses the error body, every answer matches its documented schema; findings that match a
known, reported bug (tests/robustness/known_bugs.py) are listed, others fail. The same checks over
HTTP on the local cloud: tests/e2e/test_robustness_fuzz.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.robustness import fuzz
from tests.robustness.auth import OpsBearer, PartnerSignature
from tests.robustness.config import BUDGET, FULL

pytestmark = [pytest.mark.robustness]


def test_every_operation_in_process_against_moto(aws):
    from petcover import runtime
    from tests.robustness import inproc_world
    from tests.robustness.inprocess import LambdaSender

    world = inproc_world.build(runtime.ports())
    sender = LambdaSender()
    kinds = fuzz.auth_kinds()
    channel = PartnerSignature(world.channel_key[0], world.channel_key[1], sender.base_url)
    provider = PartnerSignature(world.provider_key[0], world.provider_key[1], sender.base_url)
    admin = OpsBearer(secret="test-ops-secret")

    def auth_for(op: Any) -> Any:
        return {"channel": channel, "partner": provider, "provider": provider, "ops": admin}.get(kinds[fuzz.label(op)])

    result = fuzz.run(
        fuzz.load_schema(),
        sender,
        auth_for,
        result_label="in-process",
        examples=BUDGET.inprocess_examples,
        known=world.examples,
        derandomize=not FULL,
    )
    fuzz.record_section(
        "fuzz-inprocess",
        result,
        f"Every operation of `infra.openapi.build()` ({len(result.stats)}), positive and negative generation, "
        f"{BUDGET.inprocess_examples} examples per operation and mode, handlers called in-process with the "
        "exact request bytes (moto behind them).",
    )
    assert len(result.stats) == len(fuzz.auth_kinds()), "some operations were not exercised"
    unknown = fuzz.unknown_findings(result)
    assert not unknown, "\n".join(
        f"{f.operation} [{f.check}] {f.status}: {f.detail}\n  {f.request}\n  {f.response}" for f in unknown
    )
