"""Bulk-issue queue: split a file into row messages, and issue each row."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from petcover.ports import Ports
from petcover.queues import queue_consumer
from petcover.services import bulk


@queue_consumer("BulkMessageProcessed")
def handler(p: Ports, body: dict[str, Any], record: SQSRecord) -> None:
    if body.get("type") == "split":
        bulk.split(p, body["job_id"])
    else:
        bulk.issue_row(p, body["job_id"], int(body["index"]), body.get("row") or {})
