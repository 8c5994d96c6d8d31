"""Handing a dispatch decision to fulfilment, which moves the appointment (idempotent on its side)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from petcover.ports import Ports
from petcover.services.fulfilment import assignment as fulfilment_assignment

# (ports, appointment_id, provider_id or None for the operations queue, decision as JSON)
AssignFn = Callable[[Ports, str, str | None, dict[str, Any]], Any]


def default_assign() -> AssignFn:
    """``fulfilment.assignment.assign``, looked up when called so a test can hand decisions to a recorder instead."""
    return fulfilment_assignment.assign
