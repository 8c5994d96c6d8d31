"""Builds the template's tables, queues, bus and bucket inside moto (no restated schemas)."""

from __future__ import annotations

import os
from typing import Any

import boto3

from infra import template

REGION = "us-east-1"


def _table_args(name: str, props: dict[str, Any]) -> dict[str, Any]:
    args: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return args


def env_for(names: dict[str, str]) -> dict[str, str]:
    """Environment variables as the template's Globals would set them, resolved to moto names."""
    env: dict[str, str] = {}
    parameters = template.load()["Parameters"]
    for var, value in template.global_env().items():
        if isinstance(value, dict) and "Ref" in value:
            ref = value["Ref"]
            if ref in names:
                env[var] = names[ref]
            elif ref == "Stage":
                env[var] = "local"  # in-process runs are a local cloud: callbacks may go to loopback
            elif ref == "OpsTokenSecret":
                env[var] = "test-ops-secret"
            elif ref in parameters:
                env[var] = str(parameters[ref].get("Default", ""))
            else:
                env[var] = ""
        elif isinstance(value, str):
            env[var] = value
        elif isinstance(value, dict) and "Fn::If" in value:
            env[var] = str(value["Fn::If"][2])
    return env


def build() -> dict[str, str]:
    """Create every stateful resource of the template; returns logical id -> physical name/url."""
    ddb = boto3.client("dynamodb", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    names: dict[str, str] = {}
    for logical, res in template.resources("AWS::DynamoDB::Table").items():
        name = f"test-{logical}"
        ddb.create_table(**_table_args(name, res["Properties"]))
        ttl = res["Properties"].get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        names[logical] = name
    queues = template.resources("AWS::SQS::Queue")
    # DLQs first so redrive policies can point at them.
    order = sorted(queues, key=lambda q: "RedrivePolicy" in (queues[q].get("Properties") or {}))
    arns: dict[str, str] = {}
    for logical in order:
        props = queues[logical].get("Properties") or {}
        attrs = {"VisibilityTimeout": str(props.get("VisibilityTimeout", 30))}
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attrs["RedrivePolicy"] = (
                f'{{"deadLetterTargetArn":"{arns[target]}","maxReceiveCount":"{redrive["maxReceiveCount"]}"}}'
            )
        url = sqs.create_queue(QueueName=f"test-{logical}", Attributes=attrs)["QueueUrl"]
        arns[logical] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        names[logical] = url
    for logical in template.resources("AWS::Events::EventBus"):
        events.create_event_bus(Name=f"test-{logical}")
        names[logical] = f"test-{logical}"
    kms = boto3.client("kms", region_name=REGION)
    for logical in template.resources("AWS::KMS::Key"):
        names[logical] = kms.create_key(Description=f"test-{logical}")["KeyMetadata"]["KeyId"]
    for logical in template.resources("AWS::S3::Bucket"):
        s3.create_bucket(Bucket=f"test-{logical.lower()}")
        names[logical] = f"test-{logical.lower()}"
    return names


def apply_env(names: dict[str, str]) -> None:
    os.environ.update(env_for(names))


class _TablesKeptWhole:
    """moto's ``copy`` module as its transaction sees it: a table is not deep-copied (see below)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else self.real.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def item_backups_for_transactions(monkeypatch: Any) -> None:
    """Patch moto's TransactWriteItems to back up the items it writes, not every table whole.

    moto deep-copies a whole table per item of a transaction so it can roll back; a transaction's cost
    then grows with everything the test has written, which made the busiest tests minutes long. The
    patched method keeps a copy of each item the transaction names and puts those back when it is
    cancelled: the same all-or-nothing outcome (DynamoDB forbids two operations on one item in a
    transaction, so the copies never overlap)."""
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = models.DynamoDBBackend.transact_write_items

    def key_of(table: Any, op: dict[str, Any]) -> tuple[Any, Any]:
        attrs = op.get("Key") or op.get("Item") or {}
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
        return hash_key, range_key

    def restore(table: Any, hash_key: Any, range_key: Any, before: Any) -> None:
        if range_key is None:
            table.items.pop(hash_key, None)
            if before is not None:
                table.items[hash_key] = before
            return
        table.items[hash_key].pop(range_key, None)
        if before is not None:
            table.items[hash_key][range_key] = before

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            try:
                hash_key, range_key = key_of(table, op)
            except KeyError:
                continue  # a malformed operation: moto refuses it before writing anything
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        try:
            original(self, transact_items)
        except Exception:
            for backup in reversed(saved):
                restore(*backup)
            raise

    monkeypatch.setattr(models, "copy", _TablesKeptWhole(copy))
    monkeypatch.setattr(models.DynamoDBBackend, "transact_write_items", transact_write_items)
