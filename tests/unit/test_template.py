"""template.yaml is the one source of truth: every route, consumer and schedule resolves to a real
handler, every handler is deployed, and the generated artefacts have not drifted."""

import importlib
import json
import re
import tomllib
from pathlib import Path

import pytest

from infra import events as sample_events
from infra import openapi, template
from petcover.api import specs_of

ROOT = template.ROOT


def _resolve(handler: str):
    module, attr = template.handler_module(handler)
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("route", template.routes(), ids=lambda r: f"{r.method} {r.path}")
def test_every_route_resolves_to_an_api_handler(route):
    fn = _resolve(route.handler)
    assert callable(fn) and specs_of(fn), f"{route.handler} is not an @api handler (or a router of them)"


@pytest.mark.parametrize("consumer", template.consumers(), ids=lambda c: c.function)
def test_every_queue_consumer_resolves(consumer):
    assert hasattr(_resolve(consumer.handler), "consumer")


@pytest.mark.parametrize("schedule", template.schedules(), ids=lambda s: s.function)
def test_every_schedule_resolves(schedule):
    assert hasattr(_resolve(schedule.handler), "job")


def test_every_handler_module_is_deployed():
    deployed = {template.handler_module(f["Properties"]["Handler"])[0] for f in template.functions().values()}
    routed = (_resolve(f["Properties"]["Handler"]) for f in template.functions().values())
    deployed |= {h.spec.operation_id.rsplit(".", 1)[0] for r in routed for h in getattr(r, "routes", {}).values()}
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


def test_sibling_path_variables_share_one_name():
    """API Gateway keeps one resource per path part: `/a/{x}/b` beside `/a/{y}` fails the deploy on
    AWS, and the local cloud routes one of them nowhere (403 `Missing Authentication Token`)."""
    names: dict[str, set[str]] = {}
    for r in template.routes():
        parts = r.path.strip("/").split("/")
        for i, part in enumerate(parts):
            if part.startswith("{"):
                names.setdefault("/".join(parts[:i]), set()).add(part)
    clashes = {parent: sorted(found) for parent, found in names.items() if len(found) > 1}
    assert clashes == {}


def test_every_function_has_its_own_policies_and_a_sample_event():
    for name, fn in template.functions().items():
        assert fn["Properties"].get("Policies"), f"{name} has no least-privilege policies"
    wanted = sample_events.build()
    assert set(wanted) == set(template.functions())
    for name, event in wanted.items():
        path = ROOT / "events" / f"{name}.json"
        assert path.exists(), f"run `make events`: {path.name} is missing"
        assert json.loads(path.read_text()) == event, f"run `make events`: {path.name} drifted"


def _dead_letter_queues() -> set[str]:
    """Queues that are some queue's redrive target or some function's dead-letter queue."""
    queues = template.resources("AWS::SQS::Queue")
    redrive = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in (q.get("Properties") or {})
    }
    functions = {
        f["Properties"]["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0]
        for f in template.functions().values()
        if "DeadLetterQueue" in f["Properties"]
    }
    return redrive | functions


def test_every_work_queue_has_a_dead_letter_queue():
    queues = template.resources("AWS::SQS::Queue")
    targets = _dead_letter_queues()
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
    layers = [ROOT / "shared" / "requirements.txt", ROOT / "infra" / "layers" / "documents" / "requirements.txt"]
    lines = [line.strip() for layer in layers for line in layer.read_text().splitlines()]
    assert sorted(line for line in lines if line and not line.startswith("#")) == runtime


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
    dlqs = _dead_letter_queues()
    assert "AlarmForwardDLQ" in dlqs  # the forwarder's own failures are watched too
    watched = {
        d["Value"]["Fn::GetAtt"][0]
        for a in template.resources("AWS::CloudWatch::Alarm").values()
        for d in a["Properties"].get("Dimensions", [])
        if isinstance(d.get("Value"), dict) and "Fn::GetAtt" in d["Value"]
    }
    assert dlqs - watched == set()


# ---------------------------------------------------------------- alarms reach people


@pytest.mark.parametrize("name", sorted(template.alarms()))
def test_every_alarm_notifies_the_alarm_topic_on_alarm_and_on_recovery(name):
    props = template.alarms()[name]["Properties"]
    assert props.get("AlarmActions") == [{"Ref": "AlarmTopic"}], f"{name} has no action: nobody would hear it"
    assert props.get("OKActions") == [{"Ref": "AlarmTopic"}], f"{name} would never say it recovered"
    assert props.get("ActionsEnabled", True) is True
    assert props.get("AlarmDescription"), f"{name} has no description for the chat message"


def test_the_alarm_topic_is_forwarded_to_the_ops_chat():
    (subscription,) = template.subscriptions()
    assert subscription == ("AlarmForwardFunction", "AlarmTopic")
    fn = template.functions()["AlarmForwardFunction"]["Properties"]
    assert hasattr(_resolve(fn["Handler"]), "subscriber")
    assert fn["DeadLetterQueue"]["TargetArn"] == {"Fn::GetAtt": ["AlarmForwardDLQ", "Arn"]}
    assert "OPS_CHAT_URL" in template.function_env("AlarmForwardFunction")


def _alarms_on(namespace: str, metric: str) -> list[dict]:
    return [
        a["Properties"]
        for a in template.alarms().values()
        if (a["Properties"]["Namespace"], a["Properties"]["MetricName"]) == (namespace, metric)
    ]


def _alarm_on(namespace: str, metric: str) -> dict:
    (found,) = _alarms_on(namespace, metric)
    return found


def test_the_alarm_catalogue():
    latency = _alarm_on("AWS/ApiGateway", "Latency")  # p95 above 10 s in 3 of 10 minutes
    assert (latency["ExtendedStatistic"], latency["Threshold"], latency["ComparisonOperator"]) == (
        "p95",
        10000,
        "GreaterThanThreshold",
    )
    assert (latency["Period"], latency["EvaluationPeriods"], latency["DatapointsToAlarm"]) == (60, 10, 3)
    errors = _alarm_on("AWS/ApiGateway", "5XXError")  # more than 100 5xx in 60 s
    assert (errors["Statistic"], errors["Period"], errors["EvaluationPeriods"], errors["Threshold"]) == (
        "Sum",
        60,
        1,
        100,
    )
    for api_alarm in (latency, errors):
        dims = {d["Name"]: d["Value"] for d in api_alarm["Dimensions"]}
        assert (
            dims["ApiName"]
            == {"Fn::Sub": "petcover-${Stage}"}
            == template.resources()["PetcoverApi"]["Properties"]["Name"]
        )
    signatures = _alarm_on("Petcover", "SignatureRejected")
    from petcover.api import SIGNATURE_REJECTED

    assert signatures["MetricName"] == SIGNATURE_REJECTED and signatures["Statistic"] == "Sum"
    assert _alarm_on("AWS/Lambda", "Errors")["Threshold"] == 0
    assert _alarm_on("AWS/Lambda", "Throttles")["Threshold"] == 0
    from petcover.schedules import JOB_FAILED

    assert _alarm_on("Petcover", JOB_FAILED)["ComparisonOperator"] == "GreaterThanThreshold"


def _interval_seconds(expression: str) -> int:
    """How often a schedule fires: rate(N minutes), cron every N minutes, or a daily cron."""
    rate = re.fullmatch(r"rate\((\d+) minutes?\)", expression)
    if rate:
        return int(rate.group(1)) * 60
    minute, hour, day = expression.removeprefix("cron(").split()[:3]
    if "/" in minute:
        return int(minute.split("/")[1]) * 60
    assert hour.isdigit(), expression
    if day.isdigit():  # once a month
        return 31 * 24 * 3600
    return 24 * 3600


@pytest.mark.parametrize("schedule", template.schedules(), ids=lambda s: s.function)
def test_every_scheduled_job_alarms_when_it_failed_or_did_not_run(schedule):
    metric = _resolve(schedule.handler).metric
    if _interval_seconds(schedule.expression) > 7 * 86400:
        # CloudWatch evaluates at most 7 days, so a monthly job's missing run cannot alarm: its failure
        # does (ScheduledJobFailed, Lambda errors), and it is re-run for the month by hand (make fire).
        from petcover.schedules import JOB_FAILED

        assert _alarm_on("Petcover", JOB_FAILED)["Threshold"] == 0
        assert not _alarms_on("Petcover", metric)
        return
    props = _alarm_on("Petcover", metric)
    assert props["Statistic"] == "Sum" and props["Threshold"] == 1
    assert props["ComparisonOperator"] == "LessThanThreshold"
    assert props["TreatMissingData"] == "breaching"  # no run at all is exactly what it must catch
    window = props["Period"] * props["EvaluationPeriods"]
    assert props.get("DatapointsToAlarm", props["EvaluationPeriods"]) == props["EvaluationPeriods"]
    interval = _interval_seconds(schedule.expression)
    assert interval < window <= interval + max(interval // 4, 240), (schedule.function, interval, window)
    assert props["Period"] * props["EvaluationPeriods"] <= (86400 if props["Period"] < 3600 else 604800)


def test_the_dashboard_shows_every_alarm_and_every_dead_letter_queue():
    body = template.resources("AWS::CloudWatch::Dashboard")["OpsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    doc = json.loads(body)
    assert {w["type"] for w in doc["widgets"]} == {"alarm", "metric"}
    for name in template.alarms():
        assert f"${{{name}.Arn}}" in body, f"{name} is missing from the dashboard"
    for dlq in _dead_letter_queues():
        assert f"${{{dlq}.QueueName}}" in body, f"{dlq} is missing from the dashboard"
    for schedule in template.schedules():
        assert f'"{_resolve(schedule.handler).metric}"' in body
