"""Secrets on the local cloud: a channel verifies our webhooks with the secret it was shown once,
through a rotation; the table keeps every secret sealed with the stack's KMS key; unsafe callback
URLs are refused; the deploy rule on the ops token secret is enforced by CloudFormation itself."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra import template
from petcover import signing
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

COLD_START_SECONDS = 120  # each function's first call unpacks its layer: slow on a loaded 2-core machine


def _ops(stack: Any, *roles: str) -> Any:
    from infra.credentials import ops_token
    from petcover.client import OpsClient

    return OpsClient(stack.base, ops_token(list(roles), "e2e-secrets"), timeout=COLD_START_SECONDS)


def _hooks(stack: Any, channel_id: str, event_type: str) -> list[dict[str, Any]]:
    return [
        r
        for r in stack.cloud.sink_requests()
        if r["path"] == f"/hooks/{channel_id}" and json.loads(r["body"])["event_type"] == event_type
    ]


def _verifies(secret: str, request: dict[str, Any]) -> bool:
    ts = int(request["headers"]["X-Pc-Timestamp"])
    return signing.verify_webhook(secret, request["headers"], request["body"].encode(), now=ts)


def test_a_channel_verifies_our_webhooks_with_the_secret_it_was_shown_through_a_rotation(stack) -> None:
    from petcover.client import PetcoverClient

    channel_id = f"sec-{uuid.uuid4().hex[:8]}"
    sales = _ops(stack, "sales")
    added = sales.post(
        "/ops/channels",
        idempotency_key=uuid.uuid4().hex,
        json={"id": channel_id, "name": "Secret Shop", "callback_url": f"{stack.cloud.sink_url}/hooks/{channel_id}"},
    )
    assert added.status == 201, added.body
    first_secret = added.json["webhook_secret"]
    shown = sales.get(f"/ops/channels/{channel_id}")
    assert first_secret and shown.status == 200 and "webhook_secret" not in json.dumps(shown.json)
    contract = sales.post(
        f"/ops/channels/{channel_id}/contracts",
        idempotency_key=uuid.uuid4().hex,
        json={"product_code": "pet-health", "permissions": ["underwrite", "claim"], "effective_from": "2026-01-01"},
    )
    assert contract.status == 201, contract.body
    key = sales.post(f"/ops/channels/{channel_id}/keys")
    assert key.status == 201, key.body
    channel = PetcoverClient(stack.base, key.json["key_id"], key.json["secret"], timeout=COLD_START_SECONDS)
    pet = {"species": "dog", "breed_size": "small", "age_months": 30, "region": "310115"}
    policy = channel.post(
        "/policies",
        idempotency_key=uuid.uuid4().hex,
        json={
            "product_code": "pet-health",
            "plan_code": "basic",
            "insured": {**pet, "insured_id": f"pet-{channel_id}"},
            "channel_order_id": f"o-{channel_id}",
            "holder": {"name": "Li Lei"},
        },
    )
    assert policy.status == 201, policy.body
    claim = channel.post(
        f"/policies/{policy.json['number']}/claims",
        idempotency_key=uuid.uuid4().hex,
        json={
            "benefit_code": "treatment",
            "incident_date": time.strftime("%Y-%m-%d", time.gmtime()),
            "incident_type": "illness",
            "amount": "120.00",
        },
    )
    assert claim.status == 201, claim.body
    [submitted] = wait_for(lambda: _hooks(stack, channel_id, "claim.submitted"), "the claim.submitted webhook")
    assert _verifies(first_secret, submitted)
    assert not _verifies(key.json["secret"], submitted)  # the webhook secret, not the API signing key

    rotated = _ops(stack, "ops").post(
        f"/ops/channels/{channel_id}/webhook/secret/rotate", json={"overlap_hours": 1, "reason": "e2e rotation"}
    )
    assert rotated.status == 200, rotated.body
    new_secret = rotated.json["webhook_secret"]
    assessed = _ops(stack, "underwriter").post(f"/ops/claims/{claim.json['claim_number']}/assess", json={})
    assert assessed.status == 200, assessed.body
    [assessing] = wait_for(lambda: _hooks(stack, channel_id, "claim.assessing"), "the claim.assessing webhook")
    assert len(signing.webhook_signatures(assessing["headers"]["X-Pc-Signature"])) == 2
    assert _verifies(new_secret, assessing) and _verifies(first_secret, assessing)

    # the table keeps both webhook secrets and the signing key sealed by the stack's KMS key
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=stack.cloud.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    table = stack.cloud.resources["MainTable"]
    channel_item = ddb.get_item(TableName=table, Key={"pk": {"S": f"CHANNEL#{channel_id}"}, "sk": {"S": "CHANNEL"}})
    key_item = ddb.get_item(TableName=table, Key={"pk": {"S": f"KEY#{key.json['key_id']}"}, "sk": {"S": "KEY"}})
    stored = json.dumps([channel_item["Item"], key_item["Item"]])
    assert stored.count("kms:") == 3
    for secret in (first_secret, new_secret, key.json["secret"]):
        assert secret not in stored


def test_a_callback_url_into_our_network_is_refused_even_on_the_local_cloud(stack) -> None:
    sales = stack.ops_client("sales")
    for url in ("https://169.254.169.254/latest/meta-data/", "http://10.0.0.8/hooks", "https://[::ffff:a9fe:a9fe]/"):
        refused = sales.post(
            "/ops/channels",
            idempotency_key=uuid.uuid4().hex,
            json={"id": f"bad-{uuid.uuid4().hex[:8]}", "name": "Bad", "callback_url": url},
        )
        assert refused.status == 400 and refused.json["error"]["code"] == "UNSAFE_URL", (url, refused.body)
        assert refused.json["error"]["details"][0]["field"] == "callback_url"


def _rule_probe() -> str:
    """template.yaml's parameters and rules as they are, around one harmless resource."""
    body = template.load()
    return json.dumps(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": {k: body["Parameters"][k] for k in ("Stage", "OpsTokenSecret")},
            "Rules": body["Rules"],
            "Resources": {"Probe": {"Type": "AWS::SQS::Queue"}},
        }
    )


def test_cloudformation_refuses_a_prod_deploy_with_the_default_ops_token_secret(stack) -> None:
    cfn = stack.cloud._boto("cloudformation")
    name = f"rule-probe-{uuid.uuid4().hex[:6]}"
    default = template.load()["Parameters"]["OpsTokenSecret"]["Default"]
    with pytest.raises(ClientError) as refused:
        cfn.create_stack(
            StackName=name,
            TemplateBody=_rule_probe(),
            Parameters=[
                {"ParameterKey": "Stage", "ParameterValue": "prod"},
                {"ParameterKey": "OpsTokenSecret", "ParameterValue": default},
            ],
        )
    assert "published default" in str(refused.value)
    with pytest.raises(ClientError, match="OpsTokenSecret"):  # a plain value is not a dynamic reference
        cfn.create_stack(
            StackName=name,
            TemplateBody=_rule_probe(),
            Parameters=[
                {"ParameterKey": "Stage", "ParameterValue": "prod"},
                {"ParameterKey": "OpsTokenSecret", "ParameterValue": "a-strong-secret-typed-in-a-shell"},
            ],
        )
    cfn.create_stack(
        StackName=name,
        TemplateBody=_rule_probe(),
        Parameters=[
            {"ParameterKey": "Stage", "ParameterValue": "prod"},
            {"ParameterKey": "OpsTokenSecret", "ParameterValue": "{{resolve:secretsmanager:petcover/prod/ops-token}}"},
        ],
    )
    cfn.delete_stack(StackName=name)
