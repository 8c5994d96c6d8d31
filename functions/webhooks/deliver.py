"""WebhookQueue consumer: POST one signed event to the channel (retries re-enqueue themselves)."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from petcover.observability import logger
from petcover.ports import Ports
from petcover.queues import queue_consumer
from petcover.services.webhooks import delivery


@queue_consumer("WebhookProcessed")
def handler(p: Ports, body: dict[str, Any], record: SQSRecord) -> None:
    outcome = delivery.handle_message(p, body)
    logger.info("webhook message", extra={"event_id": body.get("event_id"), "outcome": outcome})
