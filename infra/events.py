"""Writes a sample event for every function in template.yaml into events/.

`make events` runs it; the integration tests load these files by function name and fill in
the body, and `sam local invoke -e events/<Function>.json <Function>` works with them too.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from infra import template

EVENTS = template.ROOT / "events"


def api_event(method: str, path: str) -> dict[str, Any]:
    params = {name: f"sample-{name}" for name in re.findall(r"{(\w+)}", path)}
    concrete = path
    for name, value in params.items():
        concrete = concrete.replace("{" + name + "}", value)
    return {
        "resource": path,
        "path": concrete,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "stage": "v1",
            "requestId": "sample-request",
            "httpMethod": method,
            "resourcePath": path,
        },
        "body": None,
        "isBase64Encoded": False,
    }


def sqs_event(queue: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": "sample-message-1",
                "receiptHandle": "sample",
                "body": "{}",
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {"correlation_id": {"stringValue": "sample-correlation", "dataType": "String"}},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{queue}",
                "awsRegion": "us-east-1",
            }
        ]
    }


def schedule_event(name: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "sample-schedule",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "000000000000",
        "time": "2026-11-22T14:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:scheduler:us-east-1:000000000000:schedule/default/{name}"],
        "detail": {},
    }


def rule_event(pattern: dict[str, Any]) -> dict[str, Any]:
    dt = (pattern.get("detail-type") or ["Sample"])[0]
    return {
        "version": "0",
        "id": "sample-event",
        "detail-type": dt,
        "source": (pattern.get("source") or ["petcover"])[0],
        "account": "000000000000",
        "time": "2026-11-22T14:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"correlation_id": "sample-correlation"},
    }


def sns_event(topic: str) -> dict[str, Any]:
    """An alarm state change as CloudWatch publishes it to an alarm action's topic."""
    alarm = {
        "AlarmName": "petcover-local-DeadLetterAlarmDispatch-SAMPLE",
        "AlarmDescription": "派单死信队列（DispatchDLQ）有消息：这些预约还没有服务商。",
        "AWSAccountId": "000000000000",
        "NewStateValue": "ALARM",
        "NewStateReason": (
            "Threshold Crossed: 1 datapoint [3.0 (22/11/26 14:00:00)] was greater than the threshold (0.0)."
        ),
        "StateChangeTime": "2026-11-22T14:00:00.000+0000",
        "Region": "US East (N. Virginia)",
        "OldStateValue": "OK",
        "Trigger": {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Namespace": "AWS/SQS",
            "Statistic": "MAXIMUM",
            "Dimensions": [{"name": "QueueName", "value": "petcover-local-DispatchDLQ-SAMPLE"}],
            "Period": 60,
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 0.0,
        },
    }
    arn = f"arn:aws:sns:us-east-1:000000000000:{topic}"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{arn}:sample-subscription",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "sample-message-1",
                    "TopicArn": arn,
                    "Subject": 'ALARM: "petcover-local-DeadLetterAlarmDispatch-SAMPLE" in US East (N. Virginia)',
                    "Message": json.dumps(alarm, ensure_ascii=False),
                    "Timestamp": "2026-11-22T14:00:00.000Z",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def build() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in template.routes():
        out[r.function] = api_event(r.method, r.path)
    for c in template.consumers():
        out[c.function] = sqs_event(c.queue)
    for s in template.schedules():
        out[s.function] = schedule_event(s.function)
    for fn, pattern in template.event_rules():
        out[fn] = rule_event(pattern)
    for fn, topic in template.subscriptions():
        out[fn] = sns_event(topic)
    return out


def main() -> int:
    EVENTS.mkdir(exist_ok=True)
    wanted = build()
    for name, event in wanted.items():
        (EVENTS / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n")
    for stale in EVENTS.glob("*.json"):
        if stale.stem not in wanted:
            stale.unlink()
    print(f"wrote {len(wanted)} events to {EVENTS.relative_to(template.ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
