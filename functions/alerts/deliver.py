"""AlertQueue consumer: post one chat alert; a refusal raises so SQS retries, then the AlertDLQ."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from petcover.consumers import sqs_batch
from petcover.ports import Ports
from petcover.services import alerts


@sqs_batch("AlertSent")
def handler(p: Ports, body: dict[str, Any], record: SQSRecord) -> None:
    alerts.deliver_alert(p, body)
