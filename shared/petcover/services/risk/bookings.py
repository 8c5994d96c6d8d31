"""The risk check of a booking (``services.fulfilment.booking`` calls it before its transaction).

A booking the rules send to review is written like any other (the use is held, the channel hears
``appointment.booked``) but is not dispatched: it waits in the staff queue
(``repositories.risk`` RISKREVIEW#BOOKING) until ``booking_reviews.decide`` approves or rejects it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from petcover.config import get_settings
from petcover.domain import i18n
from petcover.domain.commodities import PricedItem
from petcover.domain.risk import RiskDecision, RiskFacts
from petcover.models.fulfilment import Address, Appointment, BookingRequest
from petcover.models.policies import Policy
from petcover.models.risk import RiskReview
from petcover.ports import Ports, WriteOp
from petcover.repositories import risk as repo
from petcover.services.risk import checks


def address_text(a: Address) -> str:
    """The address as lists hold it: region codes and the street line."""
    return " ".join(x for x in (a.province, a.city, a.district or "", a.line) if x)


def items_value(items: Sequence[PricedItem]) -> Decimal | None:
    return sum((i.unit_price * i.quantity for i in items), Decimal(0)) if items else None


def check(
    p: Ports, pol: Policy, req: BookingRequest, items: Sequence[PricedItem]
) -> tuple[RiskFacts, RiskDecision | None]:
    facts = checks.policy_facts("booking", pol.holder, pol.insured, req.device_id, items_value(items))
    facts = facts.model_copy(update={"address": address_text(req.address)})
    return facts, checks.check(p, facts, "booking_application", pol.number)


def held(p: Ports, doc: Appointment, decision: RiskDecision | None) -> Appointment:
    """The appointment with its decision; held for a staff decision when the rules ask for one."""
    if decision is None:
        return doc
    review = None
    if decision.outcome == "review":
        reason = i18n.text("risk.review", get_settings().language, reason=decision.reason())
        review = RiskReview(reason=reason, since=doc.created_at, decision=decision)
    return doc.model_copy(update={"risk": decision, "risk_review": review})


def entry(doc: Appointment) -> dict[str, object]:
    """What the staff queue shows of a held booking."""
    assert doc.risk_review is not None
    return {
        "appointment_id": doc.appointment_id,
        "policy_number": doc.policy_number,
        "channel_id": doc.channel_id,
        "benefit_code": doc.benefit_code,
        "service_type": doc.service_type,
        "amount": str(items_value(doc.items)) if doc.items else None,
        "review": doc.risk_review.model_dump(mode="json"),
    }


def ops(p: Ports, doc: Appointment, decision: RiskDecision | None) -> list[WriteOp]:
    """The decision's counters and audit record, and the queue entry of a held booking."""
    writes = checks.ops(p, decision, "appointment", doc.appointment_id, "booking")
    if doc.risk_review is not None:
        writes.append(repo.booking_review_item(doc.appointment_id, entry(doc)))
    return writes
