"""QuotaQueue consumer: deduct the quota of a fulfilled appointment (idempotent per appointment).

A failure is retried with a growing visibility timeout (30 s, 60 s, ...); on the 5th receive
ops are alerted and the message goes on to QuotaDLQ (POST /ops/quota/redrive re-runs it).
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from petcover import runtime
from petcover.config import get_settings
from petcover.observability import logger
from petcover.ports import Ports
from petcover.queues import queue_consumer, receive_count
from petcover.services import quota
from petcover.services.fulfilment import quota_deduction


@queue_consumer("QuotaDeductionProcessed")
def handler(p: Ports, body: dict[str, Any], record: SQSRecord) -> None:
    received = receive_count(record)
    try:
        outcome = quota_deduction.deduct_quota(p, body, receive_count=received, message_id=record.message_id)
    except Exception:
        if not quota.is_last_attempt(received):
            sqs = runtime.boto_client("sqs")
            quota.delay_retry(sqs, get_settings().quota_queue_url, record.receipt_handle, received)
        raise
    logger.info("quota deduction", extra={"appointment_id": body.get("appointment_id"), "outcome": outcome})
