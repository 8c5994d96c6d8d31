"""Each function is given exactly what its code uses: every queue it sends to or polls, the bus
when it emits, the key prefixes of the bucket it reads or writes, the idempotency table when its
route is idempotent, the ops token secret when it verifies ops tokens, and nothing else.

What the code uses is read from the source (infra.grants); on a failure, the message lists the
differences, and `python -m infra.grants --write` brings template.yaml in line (then review it).
"""

import ast
import importlib
from functools import cache
from textwrap import dedent

import pytest

from infra import template, template_edit
from infra.facts import DOCUMENT_PACKAGES, DOCUMENTS_LAYER, imports_any
from infra.grants import Analysis, differences
from infra.permissions import RESOURCES, VARIABLES, Needs, granted, queue_resource, resource_of, statement_grants
from petcover.api import specs_of
from petcover.config import GRANTED, QUEUES, Settings

FUNCTIONS = sorted(template.functions())


@cache
def analysis() -> Analysis:
    return Analysis()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_template_grants_exactly_what_the_code_uses(function):
    diff = differences(analysis().needs(function), granted(function))
    assert not diff, f"{function} (python -m infra.grants --why {function}):\n  " + "\n  ".join(diff)


def test_every_function_is_read_from_literal_imports():
    assert list(analysis().index.dynamic_imports()) == [], "import_module needs a literal module name"


def test_globals_carry_only_what_every_function_shares():
    shared = template.load()["Globals"]["Function"]
    assert shared["CodeUri"] == "functions/" and shared["Layers"] and shared["Runtime"]
    assert set(template.globals_env()) & set(VARIABLES) == set(), "per-function settings belong to the functions"
    for name, fn in template.functions().items():
        assert {"CodeUri", "Runtime"} & set(fn["Properties"]) == set(), f"{name} restates Globals"
        assert shared["Layers"][0] not in fn["Properties"].get("Layers", []), f"{name} restates Globals"


def test_only_the_functions_that_draw_or_write_documents_load_the_documents_layer():
    with_layer = {name for name, fn in template.functions().items() if fn["Properties"].get("Layers")}
    assert {"ExportReportFunction", "SendEPolicyFunction", "RunSettlementFunction"} <= with_layer
    assert len(with_layer) < len(FUNCTIONS) / 10, "most functions start with the petcover layer alone"
    why = analysis().needs("SendEPolicyFunction").why[f"layer {DOCUMENTS_LAYER}"]
    assert any("e_policy.py" in where for where in why)
    assert analysis().needs("QuoteFunction").layers == set()


@pytest.mark.parametrize(
    ("source", "imports"),
    [
        ("import matplotlib", True),
        ("import os, numpy.linalg as la", True),
        ("from PIL import Image", True),
        ("from reportlab.pdfgen import canvas", True),
        ("from .matplotlib import x", False),  # one of ours, relative
        ("import matplotlibx", False),
        ("from petcover.domain import chart", False),
    ],
)
def test_a_documents_import_is_told_by_its_top_level_package(source, imports):
    stmt = ast.parse(source).body[0]
    assert isinstance(stmt, ast.Import | ast.ImportFrom)
    assert imports_any(stmt, DOCUMENT_PACKAGES) is imports


def test_the_ops_token_secret_reaches_only_functions_that_verify_ops_tokens():
    for name, fn in template.functions().items():
        module, attr = template.handler_module(fn["Properties"]["Handler"])
        specs = specs_of(getattr(importlib.import_module(module), attr))
        verifies = any(spec.auth.kind in ("ops", "portal") for spec in specs)  # portal: local demo tokens
        assert ("OPS_TOKEN_SECRET" in template.function_env(name)) == verifies, name


def test_no_policy_grants_a_wildcard_or_a_whole_bucket():
    for name, fn in template.functions().items():
        for policy in fn["Properties"]["Policies"]:
            if isinstance(policy, dict) and "Statement" in policy:
                for statement in policy["Statement"]:
                    for action, resource in statement_grants(statement):
                        assert "*" not in action and resource not in ("*", ""), f"{name}: {action} on {resource!r}"
            else:
                kind = policy if isinstance(policy, str) else next(iter(policy))
                assert not kind.startswith("S3"), f"{name}: {kind} covers the whole bucket"


def test_every_granted_setting_names_a_template_resource():
    declared = set(template.resources()) | set(template.load()["Parameters"])
    queues = template.resources("AWS::SQS::Queue")
    assert {queue_resource(q) for q in QUEUES} == set(queues)
    assert set(RESOURCES.values()) <= declared
    assert set(VARIABLES) == {Settings.variable(f) for f in GRANTED}


def test_a_variable_always_refers_to_the_same_resource():
    env = template.global_env()  # raises when two functions disagree
    for var, field in VARIABLES.items():
        if var in env:
            assert env[var] == {"Ref": resource_of(field)}, var


def test_writing_the_grants_into_the_template_changes_nothing_now():
    needs = {name: analysis().needs(name) for name in FUNCTIONS}
    text = template.TEMPLATE.read_text()
    assert template_edit.rewrite(text, needs) == text, "run `python -m infra.grants --write`"


def test_writing_replaces_derived_entries_and_keeps_hand_written_ones():
    text = dedent(
        """\
        Resources:
          OneFunction:
            Type: AWS::Serverless::Function
            Properties:
              Handler: area.one.handler
              Environment:
                Variables:
                  BUSINESS_TIMEZONE: UTC
                  EVENT_BUS: !Ref EventBus
              Policies:
                - DynamoDBReadPolicy: {TableName: !Ref MainTable}
                - S3CrudPolicy: {BucketName: !Ref DocumentBucket}
                - Statement:
                    - Effect: Allow
                      Action: kms:Decrypt
                      Resource: !GetAtt Key.Arn
              Events:
                Api: {Type: Api, Properties: {Path: /one, Method: get}}
        """
    )
    needs = Needs(
        env={"WEBHOOK_QUEUE_URL": "WebhookQueue"}, grants={("sqs:send", "WebhookQueue")}, layers={"DocumentsLayer"}
    )
    assert template_edit.rewrite(text, {"OneFunction": needs}) == dedent(
        """\
        Resources:
          OneFunction:
            Type: AWS::Serverless::Function
            Properties:
              Handler: area.one.handler
              Layers:
                - !Ref DocumentsLayer
              Environment:
                Variables:
                  BUSINESS_TIMEZONE: UTC
                  WEBHOOK_QUEUE_URL: !Ref WebhookQueue
              Policies:
                - DynamoDBReadPolicy: {TableName: !Ref MainTable}
                - Statement:
                    - Effect: Allow
                      Action: kms:Decrypt
                      Resource: !GetAtt Key.Arn
                - SQSSendMessagePolicy: {QueueName: !GetAtt WebhookQueue.QueueName}
              Events:
                Api: {Type: Api, Properties: {Path: /one, Method: get}}
        """
    )


def test_writing_drops_a_layer_the_code_no_longer_imports_from():
    text = dedent(
        """\
        Resources:
          OneFunction:
            Type: AWS::Serverless::Function
            Properties:
              Handler: area.one.handler
              Layers:
                - !Ref DocumentsLayer
              Policies:
                - DynamoDBReadPolicy: {TableName: !Ref MainTable}
        """
    )
    rewritten = template_edit.rewrite(text, {"OneFunction": Needs()})
    assert "Layers" not in rewritten and "DocumentsLayer" not in rewritten
    assert "- DynamoDBReadPolicy: {TableName: !Ref MainTable}" in rewritten
