"""Booking on the demo stack's policy over HTTP (e2e and browser tests share the local cloud's demo data)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

ADDRESS = {
    "contact_name": "Li Lei",
    "phone": "13800000000",
    "line": "1 Century Ave",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}


def book_checkup(channel: Any, policy: dict[str, Any]) -> str:
    """An offline check-up on the demo policy, three days ahead; the one already booked when the
    demo pet has one open (earlier in this session, or a stack reused from an earlier run)."""
    when = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
    booked = channel.post(
        f"/policies/{policy['number']}/appointments",
        idempotency_key=uuid.uuid4().hex,
        json={
            "benefit_code": "annual-checkup",
            "pet": {"pet_id": policy["pet_id"], "name": "Bobo"},
            "address": ADDRESS,
            "preferred_time": when,
        },
    )
    if booked.status == 409 and booked.json["error"]["code"] == "DUPLICATE_BOOKING":
        return str(booked.json["error"]["details"]["appointment_id"])
    assert booked.status in (200, 201, 202), booked.body
    return str(booked.json["appointment_id"])
