"""Outgoing webhooks to channels: the event we send, the delivery log and the ops views."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from petcover.models.base import Model

DeliveryStatus = Literal[
    "queued",  # notify() recorded the event and put it on the queue
    "sending",  # an attempt is in flight (claimed)
    "delivered",  # the receiver answered 2xx
    "failed",  # the receiver answered non-2xx, timed out or could not be reached
    "held",  # the channel's endpoint is paused; waits for ops to resume it
    "released",  # held event put back on the queue after resume
    "replayed",  # ops asked to send it again
    "redriven",  # dead event put back on the queue by ops
    "dead",  # retried for the whole window without success: in the dead letters
    "skipped",  # the channel is closed or has no callback URL / webhook secret
]

EventState = Literal["pending", "delivered", "held", "dead", "skipped"]


class WebhookEvent(Model):
    """The JSON body POSTed to the channel's callback URL."""

    model_config = ConfigDict(extra="forbid")

    event_id: str
    event_type: str = Field(description="e.g. claim.status_changed, fulfilment.status_changed")
    object_type: str
    object_id: str
    version: int = Field(
        ge=1,
        description="Grows with every event about the same object; drop an event whose version is "
        "not higher than the last one you applied for that object.",
    )
    occurred_at: str
    data: dict[str, Any]


class DeliveryLogEntry(Model):
    event_id: str
    event_type: str
    object_type: str
    object_id: str
    version: int
    channel_id: str
    at: str
    status: DeliveryStatus
    run: int = Field(1, description="1 for the first delivery; each replay / release / redrive adds one")
    attempt: int | None = None
    status_code: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    next_attempt_at: str | None = None
    actor: str | None = None


class DeliveryLog(Model):
    items: list[DeliveryLogEntry]
    cursor: str | None = None


class DeadLetter(Model):
    event_id: str
    channel_id: str
    event_type: str
    object_type: str
    object_id: str
    version: int
    occurred_at: str
    dead_at: str
    attempts: int
    last_status_code: int | None = None
    last_error: str | None = None


class DeadLetterList(Model):
    items: list[DeadLetter]
    cursor: str | None = None


class ListQuery(Model):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=2048)


class ReplayResult(Model):
    event_id: str
    run: int
    previous_state: EventState
    state: EventState


class RequeueResult(Model):
    requeued: int
    event_ids: list[str]
    more: bool = Field(False, description="More remained; they are being put back on the queue in the background.")


class PauseRequest(Model):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500)


class EndpointStatus(Model):
    channel_id: str
    state: Literal["active", "paused"]
    consecutive_failures: int
    changed_at: str | None = None
    changed_by: str | None = None
    reason: str | None = None
    requeued: int = 0
    more: bool = False
