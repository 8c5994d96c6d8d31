"""Alarm state changes from the alarm topic to the ops chat, through the alert path (``alerts``).

Each SNS notification is posted once: its message id is the alert id, so a notification SNS
delivers twice is not posted twice. A chat refusal raises, so Lambda retries the notification
and then keeps it in the forwarder's dead-letter queue (which has its own alarm).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from petcover.config import get_settings
from petcover.domain import alarms
from petcover.ports import Ports
from petcover.services import alerts


def message_for(notification: Mapping[str, Any]) -> tuple[str, str]:
    """(title, markdown text) for one SNS notification of the alarm topic."""
    body = str(notification.get("Message") or "")
    change = alarms.parse(body)
    if change is None:
        return alarms.render_other(notification.get("Subject"), body)
    tz_name = get_settings().timezone
    return alarms.render(change, tz_name)


def forward(p: Ports, notification: Mapping[str, Any], *, send: alerts.Sender | None = None) -> str:
    """Post the notification to the ops group; "sent", or "duplicate" when it was posted already."""
    title, text = message_for(notification)
    alert = {
        "alert_id": f"sns-{notification.get('MessageId') or uuid.uuid4().hex}",
        "title": title,
        "text": text,
        "target": None,
        "raised_at": p.now().isoformat(),
    }
    return alerts.deliver_alert(p, alert, send=send or alerts.http_post)
