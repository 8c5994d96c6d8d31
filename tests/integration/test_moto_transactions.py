"""The test cloud's transactions stay all-or-nothing with item backups (tests.support.moto_cloud)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError


def test_a_cancelled_transaction_leaves_every_item_as_it_was(aws):
    table = next(name for name in aws.values() if name.startswith("test-") and "Table" in name)
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    keys = [a["AttributeName"] for a in ddb.describe_table(TableName=table)["Table"]["KeySchema"]]

    def key(n: str) -> dict:
        return {k: {"S": f"{n}-{k}"} for k in keys}

    ddb.put_item(TableName=table, Item={**key("kept"), "n": {"N": "1"}})
    ddb.put_item(TableName=table, Item={**key("gone"), "n": {"N": "1"}})
    with pytest.raises(ClientError, match="TransactionCanceled"):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**key("new"), "n": {"N": "1"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": key("kept"),
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Delete": {"TableName": table, "Key": key("gone")}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": key("absent"),
                        "ConditionExpression": "attribute_exists(n)",
                    }
                },
            ]
        )
    assert "Item" not in ddb.get_item(TableName=table, Key=key("new"))
    assert ddb.get_item(TableName=table, Key=key("kept"))["Item"]["n"] == {"N": "1"}
    assert ddb.get_item(TableName=table, Key=key("gone"))["Item"]["n"] == {"N": "1"}

    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {**key("new"), "n": {"N": "1"}}}},
            {"Delete": {"TableName": table, "Key": key("gone")}},
        ]
    )
    assert "Item" in ddb.get_item(TableName=table, Key=key("new"))
    assert "Item" not in ddb.get_item(TableName=table, Key=key("gone"))
