"""Who may book what: the rules a booking request must meet before anything is held.

Pure checks on the policy as read and on the request; the quota hold and the one-open-
appointment-per-benefit rule are enforced again by the conditional writes of the booking.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from petcover.domain import calendar, regions
from petcover.errors import BusinessRuleViolation, InvalidInput, NotFound
from petcover.models.fulfilment import BookingRequest
from petcover.models.policies import BenefitBalance, Policy

# Benefit kind -> how the service reaches the pet; other kinds are reimbursed through claims.
SERVICE_KINDS = {"service_online": "online", "service_offline": "offline"}
MAX_APPOINTMENT_AHEAD = timedelta(days=180)


def bookable_benefit(pol: Policy, number: str, req: BookingRequest, now: datetime) -> tuple[BenefitBalance, str]:
    """The benefit to book and its mode (online or offline), or why it cannot be booked now.

    In this order: the policy is active and its term covers ``now``, the benefit is part of it
    and is a service, its waiting period is over (business days), and the pet is the one the
    policy insures. ``number`` is the policy number as the caller asked for it.
    """
    if pol.status != "active":
        raise BusinessRuleViolation(
            f"Policy {number} is {pol.status}; only an active policy can book services.",
            code="POLICY_NOT_ACTIVE",
        )
    if not calendar.term(pol.start_date, pol.end_date).covers(now):
        raise BusinessRuleViolation(
            f"Policy {number} covers {pol.start_date} to {pol.end_date}; it is not in force today.",
            code="POLICY_NOT_IN_FORCE",
        )
    benefit = next((b for b in pol.benefits if b.code == req.benefit_code), None)
    if benefit is None:
        raise NotFound(f"Benefit {req.benefit_code} is not part of policy {number}.", code="BENEFIT_NOT_FOUND")
    mode = SERVICE_KINDS.get(benefit.kind)
    if mode is None:
        raise BusinessRuleViolation(
            f"Benefit {benefit.code} is reimbursed through a claim; it cannot be booked as a service.",
            code="BENEFIT_NOT_BOOKABLE",
        )
    if benefit.available_from and calendar.today(now) < benefit.available_from:
        raise BusinessRuleViolation(
            f"Benefit {benefit.code} can be used from {benefit.available_from} (waiting period).",
            code="BENEFIT_IN_WAITING_PERIOD",
            details={"available_from": benefit.available_from.isoformat()},
        )
    if req.pet.pet_id != pol.insured.insured_id:
        raise BusinessRuleViolation(
            f"Pet {req.pet.pet_id} is not the pet insured by policy {number}.", code="PET_NOT_INSURED"
        )
    return benefit, mode


def check_request(req: BookingRequest, mode: str, now: datetime) -> None:
    """The address is a known area; an offline service has a preferred time within 180 days."""
    errors: list[dict[str, str]] = []
    a = req.address
    for problem in regions.check_area(regions.Area(a.province, a.city, a.district)):
        errors.append({"field": "address", "message": problem})
    if mode == "offline":
        if req.preferred_time is None:
            errors.append({"field": "preferred_time", "message": "An offline service needs a preferred time."})
        elif req.preferred_time < now:
            errors.append({"field": "preferred_time", "message": "The preferred time is in the past."})
        elif req.preferred_time > now + MAX_APPOINTMENT_AHEAD:
            errors.append({"field": "preferred_time", "message": "The preferred time is more than 180 days ahead."})
    if errors:
        raise InvalidInput("Some fields are invalid.", code="VALIDATION_FAILED", details=errors)


def check_uses_left(benefit: BenefitBalance, policy_number: str) -> None:
    """A benefit with a quota needs one use available (as read; the hold re-checks it)."""
    if benefit.quota is not None and (benefit.available or 0) < 1:
        raise BusinessRuleViolation(
            f"Benefit {benefit.code} of policy {policy_number} has no uses left "
            f"({benefit.used} used, {benefit.held} booked, quota {benefit.quota}).",
            code="QUOTA_EXHAUSTED",
        )


def check_appointment_time(appointment_time: datetime, now: datetime) -> None:
    """A confirmed appointment time lies in the future, at most 180 days ahead."""
    if appointment_time <= now or appointment_time > now + MAX_APPOINTMENT_AHEAD:
        raise InvalidInput(
            "The appointment time must be in the future, at most 180 days ahead.",
            code="VALIDATION_FAILED",
            details=[{"field": "appointment_time", "message": "out of range", "type": "date_rule"}],
        )
