"""BookingQueue consumer: book one item of a batch, once (business key: batch id + item index)."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from petcover.observability import logger
from petcover.ports import Ports
from petcover.queues import queue_consumer, receive_count
from petcover.services import quota
from petcover.services.fulfilment import batches


@queue_consumer("BatchItemProcessed")
def handler(p: Ports, body: dict[str, Any], record: SQSRecord) -> None:
    outcome = batches.process_batch_item(p, body, last_attempt=quota.is_last_attempt(receive_count(record)))
    logger.info("batch item", extra={"batch_id": body.get("batch_id"), "index": body.get("index"), "outcome": outcome})
