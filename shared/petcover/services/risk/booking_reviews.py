"""Staff decide the bookings risk control held: the queue, and approve (dispatch) or reject (cancel).

A decision runs under the appointment's lock as one transaction: the appointment (expected state
and version), the queue entry removed (only if still there: a second decision is refused), the
audit record, and either the dispatch request (approve) or the cancellation with its use released
and the channel's ``appointment.cancelled`` webhook (reject).
"""

from __future__ import annotations

from petcover.domain.appointment_flow import FLOW, advance
from petcover.errors import Conflict
from petcover.identity import Principal
from petcover.models.fulfilment import Appointment
from petcover.models.risk import BookingDecided, BookingDecision, BookingReviewEntry, BookingReviewQueue
from petcover.ports import Ports, WriteOp
from petcover.repositories import appointments as records
from petcover.repositories import risk as repo
from petcover.services import audit, outbox, quota
from petcover.services.fulfilment import ownership
from petcover.services.fulfilment.booking import dispatch_message
from petcover.services.fulfilment.transitions import (
    DISPATCH_QUEUE,
    News,
    actor,
    commit,
    is_limited,
    locked,
    release_ops,
)


def queue(p: Ports, *, limit: int = 50, cursor: str | None = None) -> BookingReviewQueue:
    page = repo.booking_reviews_page(p.store, limit=limit, cursor=cursor)
    items = [BookingReviewEntry.model_validate(repo.booking_review_entry(i)) for i in page.items]
    return BookingReviewQueue(items=items, cursor=page.cursor)


def _held(p: Ports, appointment_id: str) -> Appointment:
    doc = ownership.load(p, appointment_id)
    if (
        doc.status != "pending"
        or doc.risk_review is None
        or p.store.get(*repo.booking_review_key(appointment_id)) is None
    ):
        raise Conflict(f"Appointment {appointment_id} is not waiting for a risk decision.", code="NOT_IN_REVIEW")
    return doc


def decide(p: Ports, who: Principal, appointment_id: str, req: BookingDecision) -> BookingDecided:
    """Approve: dispatched now. Reject: cancelled, its held use released."""
    by = actor(who)
    with locked(p, appointment_id) as lease:
        doc = _held(p, appointment_id)
        now = p.now()
        record = audit.entry(
            p,
            who,
            "appointment",
            appointment_id,
            f"risk_{req.outcome}",
            before={"risk_review": doc.risk_review.model_dump(mode="json") if doc.risk_review else None},
            after={"outcome": req.outcome},
            reason=req.note,
        )
        ops: list[WriteOp] = [repo.booking_review_removal(appointment_id), record]
        if req.outcome == "approve":
            after = advance(doc, "risk_approve", doc.status, by, now, risk_review=None)
            queued = outbox.message(p, queue=DISPATCH_QUEUE, body=dispatch_message(after))
            commit(p, lease, doc, after, ops=ops, news=News(messages=(queued,)))
        else:
            state = FLOW.next_state(doc.status, "cancel")
            reason = f"Risk review: {req.note}"
            after = advance(
                doc, "risk_reject", state, by, now, risk_review=None, cancelled_at=now, cancel_reason=reason
            )
            ops += [quota.release_op(doc.policy_number, doc.benefit_code, is_limited(p, doc)), *release_ops(p, doc)]
            news = News(node="cancelled", event="appointment.cancelled", payload={"reason": reason})
            commit(p, lease, doc, after, index=records.out_of_shipped_index(), ops=ops, news=news)
    return BookingDecided(
        appointment_id=appointment_id, outcome=req.outcome, status=after.status, decided_by=by, decided_at=now
    )
