"""Shared roles: what is deployed gives every function exactly the permissions SAM would give it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from infra import roles, template

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def written() -> dict[str, Any]:
    return template.parse(template.TEMPLATE.read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def shared(written: dict[str, Any]) -> dict[str, Any]:
    tpl = copy.deepcopy(written)
    roles.share_roles(tpl)
    return tpl


def _resolved(value: Any) -> Any:
    """A managed policy ARN as SAM resolves it in us-east-1."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return value["Fn::Sub"].replace("${AWS::Partition}", "aws")
    return value


def permissions(role: dict[str, Any]) -> tuple[set[str], set[str]]:
    """A role's managed policies and inline statements, each statement as canonical JSON."""
    props = role["Properties"]
    managed = {json.dumps(_resolved(m), sort_keys=True) for m in props.get("ManagedPolicyArns", [])}
    statements = {
        json.dumps(_resolved(s), sort_keys=True)
        for p in props.get("Policies", [])
        for s in p["PolicyDocument"]["Statement"]
    }
    return managed, statements


def test_every_function_keeps_exactly_the_permissions_sam_gives_its_own_role(written, shared):
    own = roles.transformed(written)["Resources"]
    deployed = roles.transformed(shared)["Resources"]
    checked = 0
    for name, res in written["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        role_ref = deployed[name]["Properties"]["Role"]["Fn::GetAtt"][0]
        assert permissions(deployed[role_ref]) == permissions(own[f"{name}Role"]), name
        checked += 1
    assert checked == len(template.functions())


def test_a_function_this_cannot_model_keeps_its_own_role():
    tpl = {
        "Resources": {
            "F": {"Type": "AWS::Serverless::Function", "Properties": {"Policies": ["AWSLambdaBasicExecutionRole"]}},
            "G": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"DeadLetterQueue": {"Type": "SQS", "TargetArn": "x"}},
            },
            "H": {"Type": "AWS::Serverless::Function", "Properties": {"Events": {"S3": {"Type": "S3"}}}},
        }
    }
    figures = roles.share_roles(tpl)
    assert figures == {"functions": 1, "roles": 1, "saved": 0, "schedules": 0}
    assert "Role" not in tpl["Resources"]["G"]["Properties"]
    assert "Role" not in tpl["Resources"]["H"]["Properties"]


def test_the_deployed_stack_stays_under_cloudformations_limit(shared):
    deployed = roles.count(shared)
    assert deployed < roles.LIMIT, f"{deployed} resources: over CloudFormation's {roles.LIMIT} per stack"


def test_the_schedules_share_one_role_that_invokes_exactly_the_scheduled_functions(written, shared):
    deployed = roles.transformed(shared)["Resources"]
    scheduled = {
        name
        for name, res in written["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
        and any(e["Type"] == "ScheduleV2" for e in (res["Properties"].get("Events") or {}).values())
    }
    schedules = [r for r in deployed.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    assert scheduled and len(schedules) >= len(scheduled)
    assert {json.dumps(s["Properties"]["Target"]["RoleArn"]) for s in schedules} == {
        json.dumps({"Fn::GetAtt": [roles.SCHEDULE_ROLE, "Arn"]})
    }
    (statement,) = deployed[roles.SCHEDULE_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    assert {r["Fn::GetAtt"][0] for r in statement["Resource"]} == scheduled
    for_scheduler = [
        k for k, r in deployed.items() if r["Type"] == "AWS::IAM::Role" and "scheduler.amazonaws.com" in json.dumps(r)
    ]
    assert for_scheduler == [roles.SCHEDULE_ROLE]
