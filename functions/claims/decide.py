"""ClaimDecisionQueue consumer: decide one automatic claim from its own committed submission or
update (approve and pay, reject, or hold for an assessor); idempotent by claim state and version."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from petcover.observability import logger
from petcover.ports import Ports
from petcover.queues import queue_consumer, receive_count
from petcover.services.claims import auto


@queue_consumer("ClaimDecided")
def handler(p: Ports, body: dict[str, Any], record: SQSRecord) -> None:
    outcome = auto.decide_request(p, body)
    logger.info(
        "claim decided",
        extra={"claim": body.get("claim_number"), "outcome": outcome, "receive_count": receive_count(record)},
    )
