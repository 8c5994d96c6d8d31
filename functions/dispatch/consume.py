"""DispatchQueue consumer: decide, count and assign one appointment per message (idempotent by appointment)."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from petcover.observability import logger
from petcover.ports import Ports
from petcover.queues import queue_consumer
from petcover.services.dispatch import assignment


@queue_consumer("AppointmentDispatched")
def handler(p: Ports, body: dict[str, Any], record: SQSRecord) -> None:
    rec = assignment.dispatch_one(p, body)
    d = rec.decision
    logger.info(
        "dispatched",
        extra={
            "appointment_id": rec.appointment_id,
            "state": rec.state,
            "provider_id": d.provider_id if d else None,
            "step": d.step if d else None,
            "rule_version": d.rule_version if d else None,
        },
    )
