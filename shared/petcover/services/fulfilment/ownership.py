"""Who sees which appointment: a channel its own bookings, a provider the work orders assigned to it.

Another party's appointment is simply not found (404), never forbidden: its id reveals nothing.
"""

from __future__ import annotations

from petcover.errors import NotFound
from petcover.identity import Principal
from petcover.models.fulfilment import Appointment
from petcover.ports import Ports
from petcover.repositories import appointments as records


def load(p: Ports, appointment_id: str) -> Appointment:
    doc = records.find_appointment(p, appointment_id)
    if doc is None:
        raise NotFound(f"Appointment {appointment_id} does not exist.", code="APPOINTMENT_NOT_FOUND")
    return doc


def own_appointment(p: Ports, who: Principal, appointment_id: str) -> Appointment:
    """A channel sees only its own appointments (staff see all)."""
    doc = load(p, appointment_id)
    if not who.is_staff and (who.kind != "channel" or doc.channel_id != who.id):
        raise NotFound(f"Appointment {appointment_id} does not exist.", code="APPOINTMENT_NOT_FOUND")
    return doc


def own_work_order(p: Ports, who: Principal, appointment_id: str) -> Appointment:
    """A provider sees and acts only on work orders assigned to it."""
    doc = records.find_appointment(p, appointment_id)
    if doc is None or who.kind != "provider" or doc.provider_id != who.id:
        raise NotFound(f"Work order {appointment_id} does not exist.", code="WORK_ORDER_NOT_FOUND")
    return doc
