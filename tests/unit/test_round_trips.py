"""The round-trip counter behind `make bench`'s table: it sees every DynamoDB call, and only those."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from tests.support import round_trips


@pytest.fixture
def table():
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield ddb


def test_counts_each_dynamodb_call_by_operation_and_nothing_else(table):
    s3 = boto3.client("s3", region_name="us-east-1")
    with round_trips.counting() as calls:
        table.put_item(TableName="t", Item={"pk": {"S": "a"}})
        table.get_item(TableName="t", Key={"pk": {"S": "a"}})
        table.get_item(TableName="t", Key={"pk": {"S": "b"}})
        s3.list_buckets()
    assert calls == {"PutItem": 1, "GetItem": 2}


def test_only_successful_invocations_are_recorded(table, monkeypatch):
    monkeypatch.setenv(round_trips.ENV, "/dev/null")
    monkeypatch.setattr(round_trips, "_observed", {})

    def handler(event, context):
        table.get_item(TableName="t", Key={"pk": {"S": "a"}})
        return {"statusCode": event["status"]}

    counted = round_trips.wrap("F", handler)
    counted({"status": 200}, None)
    counted({"status": 409}, None)
    assert round_trips._observed == {"F": [{"GetItem": 1}]}


def test_off_unless_asked(monkeypatch):
    monkeypatch.delenv(round_trips.ENV, raising=False)

    def handler(event, context):
        return event

    assert round_trips.wrap("F", handler) is handler
