"""The expiry job on the deployed stack: the business zone reaches it from the template, a night
it missed is caught up from the watermark in the table, and a policy in force stays active."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from petcover.domain import calendar
from petcover.repositories import policies as policy_repo


def _watermark(stack: Any) -> str | None:
    pk, sk = policy_repo.expiry_watermark_key()
    ddb = stack.cloud._boto("dynamodb")
    item = ddb.get_item(TableName=stack.cloud.resources["MainTable"], Key={"pk": {"S": pk}, "sk": {"S": sk}})
    return item.get("Item", {}).get("ref", {}).get("S")


def _set_watermark(stack: Any, day: str) -> None:
    pk, sk = policy_repo.expiry_watermark_key()
    stack.cloud._boto("dynamodb").put_item(
        TableName=stack.cloud.resources["MainTable"],
        Item={"pk": {"S": pk}, "sk": {"S": sk}, "kind": {"S": "policy_expiry"}, "ref": {"S": day}},
    )


def test_the_deployed_expiry_job_catches_up_the_nights_it_missed(stack: Any) -> None:
    client = stack.channel_client()
    order = f"cal-{uuid.uuid4().hex[:8]}"
    body = {
        "product_code": "pet-health",
        "plan_code": "basic",
        "insured": {"insured_id": order, "species": "dog", "breed_size": "small", "age_months": 30, "region": "310115"},
        "channel_order_id": order,
        "holder": {"name": "Li Lei"},
    }
    issued = client.post("/policies", json=body, idempotency_key=order)
    assert issued.status == 201, issued.body
    number = issued.json["number"]

    last = calendar.today(datetime.now(UTC)) - timedelta(days=3)  # three nights without a run
    _set_watermark(stack, last.isoformat())
    result = stack.cloud.fire("ExpirePoliciesFunction")
    assert isinstance(result, dict) and "days" in result, result
    through = datetime.fromisoformat(result["through"]).date()
    assert through == calendar.today(datetime.now(UTC)) or through == last + timedelta(days=3)  # a run across midnight
    assert [d["day"] for d in result["days"]] == [d.isoformat() for d in calendar.days_after(last, through)]
    assert result["expired"] == sum(d["expired"] for d in result["days"])
    assert _watermark(stack) == result["through"]

    again = stack.cloud.fire("ExpirePoliciesFunction")
    assert again["days"] in ([], [{"day": again["through"], "expired": 0}]) and again["expired"] == 0
    assert client.get(f"/policies/{number}").json["status"] == "active"
