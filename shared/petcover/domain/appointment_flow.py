"""How an appointment moves: the state table with its refusal sentences, and one step of it.

The table is ``states.APPOINTMENT`` plus the steps that keep the state (time confirmation,
tracking), with sentences that tell a provider or channel why an action is refused now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from petcover.domain.states import APPOINTMENT, StateMachine
from petcover.errors import BusinessRuleViolation
from petcover.models.fulfilment import Appointment, Step

_VERBS = {
    "dispatch": "assign a provider",
    "manual": "hand it to operations",
    "book": "accept it",
    "start": "start service",
    "complete": "complete it",
    "cancel": "cancel",
    "confirm_time": "confirm a time",
    "track": "add tracking",
    "decline": "decline it",
    "reassign": "move it to another provider",
}


def _flow() -> StateMachine:
    """APPOINTMENT's table plus the steps that keep the state (time confirmation, tracking)."""
    transitions = {
        **APPOINTMENT.transitions,
        ("booked", "confirm_time"): "booked",
        ("fulfilling", "track"): "fulfilling",
    }
    messages: dict[tuple[str, str], str] = dict(APPOINTMENT.messages)
    for action, verb in _VERBS.items():
        messages.setdefault(("fulfilled", action), f"Service already fulfilled, cannot {verb}.")
        messages.setdefault(("cancelled", action), f"Appointment already cancelled, cannot {verb}.")
    not_accepted = "The provider has not accepted the appointment yet, cannot {verb}."
    for state in ("pending", "booking"):
        for action in ("start", "complete", "confirm_time"):
            messages[(state, action)] = not_accepted.format(verb=_VERBS[action])
        messages[(state, "track")] = "Nothing has been shipped yet, cannot add tracking."
    messages.update(
        {
            ("pending", "book"): "The appointment is not assigned to a provider yet, cannot accept it.",
            ("booked", "book"): "Appointment already accepted.",
            ("fulfilling", "book"): "Service is under way; the appointment was accepted already.",
            ("booking", "dispatch"): "Appointment already assigned to a provider.",
            ("booked", "dispatch"): "Appointment already accepted by a provider, cannot reassign.",
            ("fulfilling", "dispatch"): "Service is under way, cannot reassign.",
            ("booked", "complete"): "Service has not started yet, cannot complete it.",
            ("booked", "track"): "Nothing has been shipped yet, cannot add tracking.",
            ("fulfilling", "start"): "Service already started.",
            ("fulfilling", "confirm_time"): "Service already started, cannot change the appointment time.",
            ("booked", "decline"): "Appointment already accepted, cannot decline it; ask operations to reassign it.",
            ("fulfilling", "decline"): "Service is under way, cannot decline it.",
            ("booking", "reassign"): "The provider has not accepted it yet; assign it directly.",
            ("fulfilling", "reassign"): "Service is under way, cannot move it to another provider.",
        }
    )
    return StateMachine(
        name=APPOINTMENT.name,
        label=APPOINTMENT.label,
        initial=APPOINTMENT.initial,
        transitions=transitions,
        final=APPOINTMENT.final,
        messages=messages,
    )


FLOW = _flow()


def need_mode(doc: Appointment, mode: str, what: str) -> None:
    """Shipping and receipt are for online services, time, check-in and delivery for offline ones."""
    if doc.mode != mode:
        other = "shipped to the owner" if doc.mode == "online" else "served at a clinic or store"
        raise BusinessRuleViolation(
            f"Appointment {doc.appointment_id} is {other}; {what} is only for {mode} services.",
            code="WRONG_SERVICE_MODE",
        )


def advance(doc: Appointment, action: str, new_state: str, by: str, now: datetime, **changes: Any) -> Appointment:
    """The appointment after one step: new state, next version, the step appended to its history."""
    step = Step(at=now, action=action, by=by, state=new_state)  # type: ignore[arg-type]
    return doc.model_copy(
        update={
            **changes,
            "status": new_state,
            "version": doc.version + 1,
            "updated_at": now,
            "steps": [*doc.steps, step],
        }
    )
