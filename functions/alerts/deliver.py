"""AlertQueue consumer: post one chat alert; a refusal raises so SQS retries, then the AlertDLQ."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from petcover.ports import Ports
from petcover.queues import queue_consumer
from petcover.services import alerts


@queue_consumer("AlertSent")
def handler(p: Ports, body: dict[str, Any], record: SQSRecord) -> None:
    alerts.deliver_alert(p, body)
