"""Hostile input: schemathesis over every operation of the generated OpenAPI document, plus
hand-written cases (malformed JSON, wrong types, huge bodies, unicode, absurd amounts, dates out
of range, unknown fields).
"""

from __future__ import annotations

import pytest

from tests.robustness import fuzz
from tests.robustness.auth import OpsBearer, PartnerSignature
from tests.robustness.config import BUDGET

pytestmark = [pytest.mark.e2e, pytest.mark.robustness]


def test_every_operation_in_process_against_moto(aws):
    from petcover import runtime
    from tests.robustness import inproc_world
    from tests.robustness.inprocess import LambdaSender

    world = inproc_world.build(runtime.ports())
    sender = LambdaSender()
    kinds = fuzz.auth_kinds()
    channel = PartnerSignature(*world.channel_key, sender.base_url)
    provider = PartnerSignature(*world.provider_key, sender.base_url)
    admin = OpsBearer(secret="test-ops-secret")

    def auth_for(op):
        kind = kinds[fuzz.label(op)]
        return {"channel": channel, "partner": provider, "provider": provider, "ops": admin}.get(kind)

    schema = fuzz.load_schema()
    result = fuzz.run(schema, sender, auth_for, result_label="in-process", examples=BUDGET.inprocess_examples,
                      known=world.examples)
    print(result.seconds, result.cases, result.status_totals())
    for f in result.unique_findings():
        print(f)
    for name, st in result.stats.items():
        if st.generation_errors:
            print(name, st.generation_errors)
    for name, st in result.stats.items():
        print(name, dict(st.statuses), st.generation_errors[:1])
