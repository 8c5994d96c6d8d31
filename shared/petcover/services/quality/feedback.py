"""What pet owners and ops say about a provider's work: ratings and complaints.

Each is written in one transaction with the provider's monthly counter it moves, so the monthly
assessment reads counters that always agree with the records (``repositories.quality``).
"""

from __future__ import annotations

import secrets

from petcover.domain import calendar
from petcover.errors import BusinessRuleViolation, Conflict, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.fulfilment import Appointment
from petcover.models.quality import Complaint, ComplaintList, ComplaintRequest, Rating, RatingRequest
from petcover.ports import Ports, Put
from petcover.repositories import appointments as records
from petcover.repositories import quality as keys
from petcover.services import audit
from petcover.services.fulfilment import ownership

ENTITY_COMPLAINT = "work_order_complaint"


def rate(p: Ports, who: Principal, appointment_id: str, body: RatingRequest) -> Rating:
    """The owner's rating of a fulfilled appointment, through the channel that booked it; once."""
    doc = ownership.own_appointment(p, who, appointment_id)
    if doc.status != "fulfilled" or doc.provider_id is None:
        raise BusinessRuleViolation(
            f"Appointment {appointment_id} is {doc.status}: it can be rated once it is fulfilled.",
            code="NOT_YET_FULFILLED",
            details={"status": doc.status},
        )
    now = p.now()
    rating = Rating(
        appointment_id=appointment_id,
        provider_id=doc.provider_id,
        channel_id=doc.channel_id,
        score=body.score,
        tags=sorted(set(body.tags)),
        comment=body.comment or None,
        month=calendar.month_of(now),
        rated_at=now,
    )
    try:
        p.store.transact(
            [
                Put(keys.rating_item(rating), if_absent=True),
                keys.counter_op(rating.provider_id, rating.month, "rating", total=rating.score),
            ]
        )
    except StaleWrite:
        raise Conflict(
            f"Appointment {appointment_id} has already been rated; a rating cannot be changed.",
            code="ALREADY_RATED",
        ) from None
    return rating


def get_rating(p: Ports, appointment_id: str) -> Rating | None:
    item = p.store.get(*keys.rating_key(appointment_id))
    return keys.load_rating(item) if item else None


def _work_order(p: Ports, order_id: str) -> Appointment:
    doc = records.find_appointment(p, order_id)
    if doc is None or doc.provider_id is None:
        raise NotFound(f"There is no work order {order_id}.", code="WORK_ORDER_NOT_FOUND")
    return doc


def complain(p: Ports, who: Principal, order_id: str, body: ComplaintRequest) -> Complaint:
    """Ops record a complaint against a work order's provider; audited with the actor and reason."""
    doc = _work_order(p, order_id)
    assert doc.provider_id is not None
    now = p.now()
    complaint = Complaint(
        complaint_id=f"CP{secrets.token_hex(6).upper()}",
        work_order_id=order_id,
        provider_id=doc.provider_id,
        category=body.category,
        description=body.description,
        month=calendar.month_of(now),
        recorded_at=now,
        recorded_by=audit.actor_name(who),
    )
    record = audit.entry(
        p,
        who,
        ENTITY_COMPLAINT,
        order_id,
        "complaint_recorded",
        after=complaint.model_dump(mode="json"),
        reason=body.reason,
    )
    p.store.transact(
        [
            Put(keys.complaint_item(complaint), if_absent=True),
            keys.counter_op(complaint.provider_id, complaint.month, "complaints"),
            record,
        ]
    )
    return complaint


def complaints(p: Ports, order_id: str) -> ComplaintList:
    _work_order(p, order_id)
    return ComplaintList(items=keys.complaints(p.store, order_id))
