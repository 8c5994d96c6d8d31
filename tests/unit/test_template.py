"""template.yaml is the one source of truth: every route, consumer and schedule resolves to a real
handler, every handler is deployed, and the generated artefacts have not drifted."""

import importlib
import json
import tomllib
from pathlib import Path

import pytest

from infra import events as sample_events
from infra import openapi, template

ROOT = template.ROOT


def _resolve(handler: str):
    module, attr = template.handler_module(handler)
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("route", template.routes(), ids=lambda r: f"{r.method} {r.path}")
def test_every_route_resolves_to_an_api_handler(route):
    fn = _resolve(route.handler)
    assert callable(fn) and hasattr(fn, "spec"), f"{route.handler} is not an @api handler"


@pytest.mark.parametrize("consumer", template.consumers(), ids=lambda c: c.function)
def test_every_queue_consumer_resolves(consumer):
    assert hasattr(_resolve(consumer.handler), "consumer")


@pytest.mark.parametrize("schedule", template.schedules(), ids=lambda s: s.function)
def test_every_schedule_resolves(schedule):
    assert hasattr(_resolve(schedule.handler), "job")


def test_every_handler_module_is_deployed():
    deployed = {template.handler_module(f["Properties"]["Handler"])[0] for f in template.functions().values()}
    modules = {
        ".".join(p.relative_to(ROOT / "functions").with_suffix("").parts)
        for p in (ROOT / "functions").rglob("*.py")
        if p.name != "__init__.py"
    }
    assert modules - deployed == set(), "handler modules missing from template.yaml"
    assert deployed - modules == set(), "template.yaml points at missing modules"


def test_routes_are_unique():
    seen = [(r.method, r.path) for r in template.routes()]
    assert len(seen) == len(set(seen))


def test_every_function_has_its_own_policies_and_a_sample_event():
    for name, fn in template.functions().items():
        assert fn["Properties"].get("Policies"), f"{name} has no least-privilege policies"
    wanted = sample_events.build()
    assert set(wanted) == set(template.functions())
    for name, event in wanted.items():
        path = ROOT / "events" / f"{name}.json"
        assert path.exists(), f"run `make events`: {path.name} is missing"
        assert json.loads(path.read_text()) == event, f"run `make events`: {path.name} drifted"


def test_every_work_queue_has_a_dead_letter_queue():
    queues = template.resources("AWS::SQS::Queue")
    targets = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in (q.get("Properties") or {})
    }
    for name, q in queues.items():
        assert name in targets or "RedrivePolicy" in (q.get("Properties") or {}), f"{name} has no DLQ"


def test_consumers_report_partial_batch_failures():
    for fn in template.functions().values():
        for ev in (fn["Properties"].get("Events") or {}).values():
            if ev["Type"] == "SQS":
                assert ev["Properties"].get("FunctionResponseTypes") == ["ReportBatchItemFailures"]


def test_openapi_document_has_not_drifted():
    assert (ROOT / "openapi.json").read_text() == openapi.render(), "run `make openapi`"


def test_layer_requirements_match_pyproject():
    deps = tomllib.loads(Path(ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    runtime = sorted(d for d in deps if not d.startswith("boto3"))
    layer = sorted(
        line.strip()
        for line in (ROOT / "shared" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert layer == runtime


def test_tables_in_moto_come_from_the_template(aws):
    import boto3

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    desc = ddb.describe_table(TableName=aws["MainTable"])["Table"]
    want = template.resources()["MainTable"]["Properties"]
    assert desc["KeySchema"] == want["KeySchema"]
    assert {i["IndexName"] for i in desc["GlobalSecondaryIndexes"]} == {
        i["IndexName"] for i in want["GlobalSecondaryIndexes"]
    }


def test_every_dead_letter_queue_has_an_alarm():
    queues = template.resources("AWS::SQS::Queue")
    dlqs = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in (q.get("Properties") or {})
    }
    watched = {
        d["Value"]["Fn::GetAtt"][0]
        for a in template.resources("AWS::CloudWatch::Alarm").values()
        for d in a["Properties"].get("Dimensions", [])
        if isinstance(d.get("Value"), dict) and "Fn::GetAtt" in d["Value"]
    }
    assert dlqs - watched == set()
