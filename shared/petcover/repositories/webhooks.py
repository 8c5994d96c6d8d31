"""Keys and items of the webhook aggregate: events, their delivery log, object versions, endpoints.

Main table:
    ("OBJVER#{type}#{id}", "OBJVER")            seq: the object's last webhook version (never expires)
    ("WEBHOOK#{event}", "DELIVERY")             the event: state pending/delivered/held/dead/skipped,
                                                fence = run, data.body = the exact JSON sent
        gsi2 WHDEAD / {dead_at}#{event}             while dead (the dead letters)
        gsi3 WHHELD#{channel} / {held_at}#{event}   while held by a paused endpoint
    ("WEBHOOK#{event}", "ATTEMPT#..." | "LOG#...")  delivery log,
        gsi1 WHLOG#{type}#{id} / {at}#{event}#{sk}
    ("CHANNEL#{channel}", "WEBHOOK")            endpoint: state active/paused, n = dead events in a row
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from petcover.ports import Item
from petcover.repositories.access import channel_pk

if TYPE_CHECKING:
    from petcover.models.webhooks import (
        DeadLetter,
        DeliveryLogEntry,
        DeliveryStatus,
        EndpointStatus,
        EventState,
        WebhookEvent,
    )

RETENTION_DAYS = 90
DEAD_PK = "WHDEAD"
LOG_INDEX = "gsi1"
DEAD_INDEX = "gsi2"
HELD_INDEX = "gsi3"
ENDPOINT_KIND = "webhook_endpoint"
FAILURES = "n"  # endpoint attribute: dead events in a row


# ---------------------------------------------------------------- time formats


def stamp(dt: datetime) -> str:
    """Fixed-width UTC time, so sort keys order by time."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stamp_epoch(seconds: float) -> str:
    return stamp(datetime.fromtimestamp(seconds, UTC))


def expires(at: datetime) -> int:
    return int(at.timestamp()) + RETENTION_DAYS * 86400


# ---------------------------------------------------------------- keys and index values


def object_version_key(object_type: str, object_id: str) -> tuple[str, str]:
    return f"OBJVER#{object_type}#{object_id}", "OBJVER"


def delivery_pk(event_id: str) -> str:
    return f"WEBHOOK#{event_id}"


def delivery_key(event_id: str) -> tuple[str, str]:
    return delivery_pk(event_id), "DELIVERY"


def attempt_sk(run: int, attempt: int) -> str:
    return f"ATTEMPT#{run:04d}#{attempt:04d}"


def log_sk(at: str, suffix: str) -> str:
    return f"LOG#{at}#{suffix}"


def endpoint_key(channel_id: str) -> tuple[str, str]:
    return channel_pk(channel_id), "WEBHOOK"


def log_pk(object_type: str, object_id: str) -> str:
    return f"WHLOG#{object_type}#{object_id}"


def held_pk(channel_id: str) -> str:
    return f"WHHELD#{channel_id}"


def held_index(channel_id: str, at: datetime, event_id: str) -> dict[str, str]:
    return {"gsi3pk": held_pk(channel_id), "gsi3sk": f"{stamp(at)}#{event_id}"}


def dead_index(dead_at: str, event_id: str) -> dict[str, str]:
    return {"gsi2pk": DEAD_PK, "gsi2sk": f"{dead_at}#{event_id}"}


def off_lists() -> dict[str, None]:
    """Index values that take an event out of the held and dead lists."""
    return {"gsi2pk": None, "gsi2sk": None, "gsi3pk": None, "gsi3sk": None}


# ---------------------------------------------------------------- the event item


@dataclass
class Delivery:
    """A stored event: the item, the event body it holds, and its ``data`` document."""

    item: Item
    event: WebhookEvent
    meta: dict[str, Any]

    @property
    def event_id(self) -> str:
        return self.event.event_id

    @property
    def channel_id(self) -> str:
        return str(self.meta["channel_id"])

    @property
    def body(self) -> bytes:
        return str(self.meta["body"]).encode()

    @property
    def state(self) -> EventState:
        return self.item.get("state", "pending")  # type: ignore[no-any-return]

    @property
    def run(self) -> int:
        return int(self.item.get("fence", 1))


def load_delivery(item: Item) -> Delivery:
    from petcover.models.webhooks import WebhookEvent

    meta = json.loads(item["data"])
    return Delivery(item, WebhookEvent.model_validate_json(meta["body"]), meta)


def event_item(event: WebhookEvent, *, channel_id: str, body: str, now: datetime) -> Item:
    """A new event, pending, run 1; ``body`` is the exact JSON that will be POSTed."""
    pk, sk = delivery_key(event.event_id)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "webhook_event",
        "state": "pending",
        "owner": channel_id,
        "ref": f"{event.object_type}#{event.object_id}",
        "version": event.version,
        "fence": 1,
        "expires_at": expires(now),
        "data": json.dumps({"body": body, "channel_id": channel_id, "created_at": stamp(now)}),
    }


def dead_data(d: Delivery, *, dead_at: str, attempts: int, status_code: int | None, error: str) -> str:
    """The event's ``data`` once dead: what the dead-letter list shows."""
    meta = {
        **d.meta,
        "dead_at": dead_at,
        "attempts": attempts,
        "last_status_code": status_code,
        "last_error": error,
    }
    return json.dumps(meta)


def dead_letter(item: Item) -> DeadLetter:
    from petcover.models.webhooks import DeadLetter

    d = load_delivery(item)
    e = d.event
    return DeadLetter(
        event_id=e.event_id,
        channel_id=d.channel_id,
        event_type=e.event_type,
        object_type=e.object_type,
        object_id=e.object_id,
        version=e.version,
        occurred_at=e.occurred_at,
        dead_at=d.meta.get("dead_at", ""),
        attempts=int(d.meta.get("attempts") or 0),
        last_status_code=d.meta.get("last_status_code"),
        last_error=d.meta.get("last_error"),
    )


# ---------------------------------------------------------------- delivery log items


def log_entry(d: Delivery, at: datetime, status: DeliveryStatus, **fields: Any) -> DeliveryLogEntry:
    """A log entry about the event; ``run`` defaults to the event's current run."""
    from petcover.models.webhooks import DeliveryLogEntry

    e = d.event
    return DeliveryLogEntry(
        event_id=e.event_id,
        event_type=e.event_type,
        object_type=e.object_type,
        object_id=e.object_id,
        version=e.version,
        channel_id=d.channel_id,
        at=stamp(at),
        status=status,
        **{"run": d.run, **fields},
    )


def log_item(entry: DeliveryLogEntry, sk: str, at: datetime) -> Item:
    return {
        "pk": delivery_pk(entry.event_id),
        "sk": sk,
        "kind": "webhook_log",
        "state": entry.status,
        "gsi1pk": log_pk(entry.object_type, entry.object_id),
        "gsi1sk": f"{entry.at}#{entry.event_id}#{sk}",
        "data": entry.model_dump_json(),
        "expires_at": expires(at),
    }


def attempt_item(entry: DeliveryLogEntry, run: int, attempt: int, at: datetime) -> Item:
    """The log item that claims an attempt; ``fence`` is the epoch second it was claimed."""
    return {**log_item(entry, attempt_sk(run, attempt), at), "fence": int(at.timestamp())}


def log_entries(items: list[Item]) -> list[DeliveryLogEntry]:
    from petcover.models.webhooks import DeliveryLogEntry

    return [DeliveryLogEntry.model_validate_json(i["data"]) for i in items]


# ---------------------------------------------------------------- the endpoint item


def endpoint_failures(item: Item) -> int:
    return int(item.get(FAILURES) or 0)


def endpoint_changes(
    state: str, *, changed_at: datetime, changed_by: str, reason: str | None, reset_failures: bool
) -> dict[str, Any]:
    """The attributes a pause / resume sets on the endpoint item."""
    meta = {"changed_at": stamp(changed_at), "changed_by": changed_by, "reason": reason}
    changes: dict[str, Any] = {"state": state, "kind": ENDPOINT_KIND, "data": json.dumps(meta)}
    if reset_failures:
        changes[FAILURES] = 0
    return changes


def endpoint_status(channel_id: str, item: Item, requeued: int = 0, more: bool = False) -> EndpointStatus:
    from petcover.models.webhooks import EndpointStatus

    meta = json.loads(item.get("data") or "{}")
    return EndpointStatus(
        channel_id=channel_id,
        state=item.get("state") or "active",
        consecutive_failures=endpoint_failures(item),
        changed_at=meta.get("changed_at"),
        changed_by=meta.get("changed_by"),
        reason=meta.get("reason"),
        requeued=requeued,
        more=more,
    )
