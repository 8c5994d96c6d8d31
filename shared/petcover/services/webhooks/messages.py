"""Messages on the webhook queue: one delivery attempt, or the continuation of a resume / redrive."""

from __future__ import annotations

import math
from typing import Literal

from petcover.models.base import Model
from petcover.ports import Ports

WEBHOOK_QUEUE = "webhook"
SQS_MAX_DELAY_SECONDS = 900


class DeliveryMessage(Model):
    kind: Literal["deliver"] = "deliver"
    event_id: str
    channel_id: str
    run: int = 1
    attempt: int = 1
    window_start: float  # epoch seconds; the retry window is measured from here
    not_before: float | None = None  # epoch seconds; earlier copies hop until due


class RequeueMessage(Model):
    """Continues a resume / redrive that had more events than one batch."""

    kind: Literal["requeue"] = "requeue"
    source: Literal["held", "dead"]
    channel_id: str | None = None
    actor: str


def enqueue(p: Ports, msg: DeliveryMessage | RequeueMessage, wait: float = 0) -> None:
    """Send after ``wait`` seconds, capped at what SQS allows (longer waits hop with ``not_before``)."""
    delay = min(SQS_MAX_DELAY_SECONDS, max(0, math.ceil(wait)))
    p.publisher.send(WEBHOOK_QUEUE, [msg.model_dump()], delay_seconds=delay)
