"""Publishing to SQS and EventBridge: batched, and raising when any entry was refused.

Every message carries the correlation id, as an SQS message attribute and inside the
EventBridge detail, so the next hop logs under the same id.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from petcover.config import QUEUES, NotConfigured, Settings
from petcover.observability import correlation_id

SQS_BATCH = 10
EVENTS_BATCH = 10
SOURCE = "petcover"


class PublishFailed(RuntimeError):
    """Some entries were refused by SQS or EventBridge; nothing is silently dropped."""


def _chunks(seq: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [seq[i : i + size] for i in range(0, len(seq), size)]


def _dumps(body: Mapping[str, Any]) -> str:
    return json.dumps(body, default=str, separators=(",", ":"))


class AwsPublisher:
    """Sends to the queues and the bus this function was given; anything else raises NotConfigured."""

    def __init__(self, sqs: Any, events: Any, queue_urls: Mapping[str, str], bus_name: str) -> None:
        self._sqs = sqs
        self._events = events
        self._queue_urls = dict(queue_urls)
        self._bus = bus_name

    def queue_url(self, queue: str) -> str:
        url = self._queue_urls.get(queue)
        if not url:
            setting = Settings.variable(QUEUES[queue]) if queue in QUEUES else f"a queue named '{queue}'"
            raise NotConfigured(f"cannot send to '{queue}': {setting} is not set for this function")
        return url

    def send(self, queue: str, bodies: Sequence[Mapping[str, Any]], *, delay_seconds: int = 0) -> None:
        url = self.queue_url(queue)
        cid = correlation_id()
        for chunk in _chunks(list(bodies), SQS_BATCH):
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": _dumps(body),
                    "DelaySeconds": min(max(delay_seconds, 0), 900),
                    "MessageAttributes": {"correlation_id": {"DataType": "String", "StringValue": cid}},
                }
                for i, body in enumerate(chunk)
            ]
            resp = self._sqs.send_message_batch(QueueUrl=url, Entries=entries)
            if resp.get("Failed"):
                raise PublishFailed(f"SQS refused {len(resp['Failed'])} of {len(entries)} messages")

    def emit(self, detail_type: str, details: Sequence[Mapping[str, Any]]) -> None:
        if details and not self._bus:
            setting = Settings.variable("event_bus")
            raise NotConfigured(f"cannot emit {detail_type}: {setting} is not set for this function")
        cid = correlation_id()
        for chunk in _chunks(list(details), EVENTS_BATCH):
            entries = [
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": _dumps({**d, "correlation_id": cid}),
                    "EventBusName": self._bus,
                }
                for d in chunk
            ]
            resp = self._events.put_events(Entries=entries)
            if resp.get("FailedEntryCount"):
                raise PublishFailed(f"EventBridge refused {resp['FailedEntryCount']} of {len(entries)} events")


class MemoryPublisher:
    """Records what would be published; unit tests and in-process benches read it back."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def send(self, queue: str, bodies: Sequence[Mapping[str, Any]], *, delay_seconds: int = 0) -> None:
        with self._lock:
            box = self.sent.setdefault(queue, [])
            for b in bodies:
                box.append({**json.loads(_dumps(b)), "_delay": delay_seconds, "_id": str(uuid.uuid4())})

    def emit(self, detail_type: str, details: Sequence[Mapping[str, Any]]) -> None:
        with self._lock:
            for d in details:
                self.events.append((detail_type, json.loads(_dumps(d))))

    def drain(self, queue: str) -> list[dict[str, Any]]:
        with self._lock:
            return self.sent.pop(queue, [])
