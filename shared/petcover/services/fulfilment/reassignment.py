"""The orders a provider holds and has not finished, and which of them ops can move elsewhere.

Read from the timeline's open work orders (one bounded query by provider), each confirmed
against the appointment itself, since the index lags a change by a moment. An order not yet
accepted can always be reassigned; an accepted one only once its provider is no longer active
(``fulfilment.assignment``); an order under way stays with its provider.
"""

from __future__ import annotations

from datetime import datetime

from petcover.models.fulfilment import Appointment, OpenOrder, OpenOrderList
from petcover.ports import Ports
from petcover.repositories import appointments as records
from petcover.services import timeline
from petcover.services.partners import directory

OPEN_STATES = ("booking", "booked", "fulfilling")


def _assigned_at(doc: Appointment) -> datetime | None:
    return next((s.at for s in reversed(doc.steps) if s.action == "assign"), None)


def open_orders(p: Ports, provider_id: str) -> OpenOrderList:
    active = directory.account_active(p, provider_id)
    items: list[OpenOrder] = []
    for wo in timeline.open_orders(p, provider_id):
        doc = records.find_appointment(p, wo.order_id)
        if doc is None or doc.provider_id != provider_id or doc.status not in OPEN_STATES:
            continue
        items.append(
            OpenOrder(
                appointment_id=doc.appointment_id,
                status=doc.status,
                service_type=doc.service_type,
                mode=doc.mode,
                region_code=doc.address.district or doc.address.city or doc.address.province,
                assigned_at=_assigned_at(doc),
                appointment_time=doc.appointment_time,
                reassignable=doc.status == "booking" or (doc.status == "booked" and not active),
            )
        )
    items.sort(key=lambda o: o.appointment_id)
    return OpenOrderList(provider_id=provider_id, items=items)
