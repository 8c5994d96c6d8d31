"""Functions that declare the same permissions share one IAM role in the template that is deployed.

template.yaml keeps each function's own ``Policies`` (what its code needs, derived by
``infra.grants``), so that is where a reader and a reviewer look. Left to SAM, every function
gets a role of its own: with over a hundred functions that is a quarter of CloudFormation's
500-resource limit per stack. After ``sam build``, this rewrites the built template: functions whose
policies, event sources and tracing are identical get one ``AWS::IAM::Role`` between them, holding
the statements SAM would have written into each one's own role, and the schedules share one role that may
invoke exactly the scheduled functions. No function gains a permission.

    python -m infra.roles .aws-sam/build/template.yaml     # rewrite in place, print the figures
    python -m infra.roles --count template.yaml            # resources after the SAM transform

A function with anything this does not model (its own Role, a dead-letter queue, a permissions
boundary, an event type SAM would grant more for) keeps the role SAM makes for it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from infra import template

LIMIT = 500  # CloudFormation's resources per stack
ASSUME_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}
    ],
}
BASIC = "AWSLambdaBasicExecutionRole"
MANAGED = {
    BASIC: "service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "AWSXrayWriteOnlyAccess",
    "AWSLambdaSQSQueueExecutionRole": "service-role/AWSLambdaSQSQueueExecutionRole",
}
# Event sources whose only grant is the managed policy named (None: the invoker's own permission).
EVENT_GRANTS: dict[str, str | None] = {
    "Api": None,
    "Schedule": None,
    "ScheduleV2": None,
    "EventBridgeRule": None,
    "CloudWatchEvent": None,
    "SNS": None,
    "SQS": "AWSLambdaSQSQueueExecutionRole",
}
OWN_ROLE_PROPERTIES = ("Role", "DeadLetterQueue", "PermissionsBoundary", "AssumeRolePolicyDocument", "RolePath")


def _arn(name: str) -> dict[str, str]:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::aws:policy/{MANAGED[name]}"}


def _policy_templates() -> Any:
    from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

    return PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())


def _tracing_policy(tracing: Any) -> Any:
    """SAM's X-Ray grant: given whenever tracing may be active (SAM does not keep a condition)."""
    if tracing == "Active" or (isinstance(tracing, dict) and "Active" in tracing.get("Fn::If", [])):
        return _arn("AWSXrayWriteOnlyAccess")
    return None


def _canonical(items: list[Any]) -> list[Any]:
    """Once each, in one order: the same grants written in another order make the same role."""
    return [json.loads(i) for i in sorted({json.dumps(i, sort_keys=True) for i in items})]


def role_of(props: dict[str, Any], function_globals: dict[str, Any], processor: Any) -> dict[str, Any] | None:
    """The role SAM would make for a function with these properties, or None when not modelled."""
    if any(p in props or p in function_globals for p in OWN_ROLE_PROPERTIES):
        return None
    managed: list[Any] = [_arn(BASIC)]
    statements: list[Any] = []
    for policy in props.get("Policies") or []:
        if isinstance(policy, str) and policy in MANAGED:
            managed.append(_arn(policy))
        elif isinstance(policy, dict) and len(policy) == 1 and "Statement" in policy:
            body = policy["Statement"]
            statements.extend(body if isinstance(body, list) else [body])
        elif isinstance(policy, dict) and len(policy) == 1 and processor.has(next(iter(policy))):
            ((name, params),) = policy.items()
            statements.extend(processor.convert(name, params)["Statement"])
        else:
            return None
    for event in (props.get("Events") or {}).values():
        if event.get("Type") not in EVENT_GRANTS:
            return None
        extra = EVENT_GRANTS[event["Type"]]
        if extra and _arn(extra) not in managed:
            managed.append(_arn(extra))
    tracing = _tracing_policy(props.get("Tracing", function_globals.get("Tracing")))
    if tracing is not None:
        managed.append(tracing)
    # In one order, once each, so that the same grants written in another order are the same role.
    role: dict[str, Any] = {"AssumeRolePolicyDocument": ASSUME_LAMBDA, "ManagedPolicyArns": _canonical(managed)}
    if statements:
        document = {"Version": "2012-10-17", "Statement": _canonical(statements)}
        role["Policies"] = [{"PolicyName": "Grants", "PolicyDocument": document}]
    return role


def share_roles(tpl: dict[str, Any]) -> dict[str, int]:
    """Rewrite ``tpl`` in place so that functions with identical roles share one; the figures."""
    processor = _policy_templates()
    function_globals = (tpl.get("Globals") or {}).get("Function") or {}
    resources = tpl["Resources"]
    groups: dict[str, list[str]] = {}
    roles: dict[str, dict[str, Any]] = {}
    for name, res in resources.items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        role = role_of(res["Properties"], function_globals, processor)
        if role is None:
            continue
        key = json.dumps(role, sort_keys=True)
        groups.setdefault(key, []).append(name)
        roles[key] = role
    for key, members in groups.items():
        role_id = "SharedRole" + hashlib.sha256(key.encode()).hexdigest()[:10]
        resources[role_id] = {
            "Type": "AWS::IAM::Role",
            "Properties": {**roles[key], "Tags": [{"Key": "petcover:functions", "Value": str(len(members))}]},
        }
        for name in members:
            props = resources[name]["Properties"]
            props.pop("Policies", None)
            props["Role"] = {"Fn::GetAtt": [role_id, "Arn"]}
    shared = sum(len(m) for m in groups.values())
    scheduled = share_schedule_role(resources)
    return {
        "functions": shared,
        "roles": len(groups),
        "saved": shared - len(groups) + max(scheduled - 1, 0),
        "schedules": scheduled,
    }


SCHEDULE_ROLE = "SharedScheduleRole"


def share_schedule_role(resources: dict[str, Any]) -> int:
    """One role for EventBridge Scheduler to invoke the scheduled functions, instead of SAM's role per
    schedule; it may invoke exactly those functions and nothing else. The number of schedules on it."""
    targets: list[str] = []
    for name, res in resources.items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (res["Properties"].get("Events") or {}).values():
            props = event.get("Properties") or {}
            if event.get("Type") == "ScheduleV2" and "RoleArn" not in props:
                props["RoleArn"] = {"Fn::GetAtt": [SCHEDULE_ROLE, "Arn"]}
                event["Properties"] = props
                targets.append(name)
    if targets:
        resources[SCHEDULE_ROLE] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": ["scheduler.amazonaws.com"]},
                            "Action": ["sts:AssumeRole"],
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "InvokeScheduledFunctions",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "lambda:InvokeFunction",
                                    "Resource": [{"Fn::GetAtt": [n, "Arn"]} for n in sorted(set(targets))],
                                }
                            ],
                        },
                    }
                ],
            },
        }
    return len(targets)


def transformed(tpl: dict[str, Any]) -> dict[str, Any]:
    """The plain CloudFormation SAM makes of a template (what the stack will hold)."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    tpl = json.loads(json.dumps(tpl))
    for res in [tpl.get("Globals", {}).get("Function", {}), *tpl["Resources"].values()]:
        props = res.get("Properties", res)
        for key in ("CodeUri", "ContentUri"):
            if key in props:
                props[key] = "s3://bucket/key"  # where `sam deploy` uploads it: the count is the same
    session = boto3.session.Session(region_name="us-east-1")
    managed_policies = {name: f"arn:aws:iam::aws:policy/{path}" for name, path in MANAGED.items()}
    translator = Translator(managed_policies, Parser(), boto_session=session)
    out: dict[str, Any] = translator.translate(tpl, parameter_values={})
    return out


def count(tpl: dict[str, Any]) -> int:
    return len(transformed(tpl)["Resources"])


def share(path: Path) -> str:
    """Rewrite a built template in place with shared roles; what it did, in words."""
    tpl = template.parse(path.read_text())
    figures = share_roles(tpl)
    path.write_text(yaml.safe_dump(tpl, sort_keys=False, allow_unicode=True, width=1000))
    return (
        f"{figures['functions']} functions share {figures['roles']} roles, {figures['schedules']} schedules one"
        f" ({figures['saved']} fewer resources)"
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["--count"]:
        path = Path(argv[1] if len(argv) > 1 else template.TEMPLATE)
        tpl = template.parse(path.read_text())
        before = count(tpl)
        figures = share_roles(tpl)
        print(f"{path}: {before} resources as written, {count(tpl)} deployed ({figures}); limit {LIMIT}")
        return 0
    print(share(Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
