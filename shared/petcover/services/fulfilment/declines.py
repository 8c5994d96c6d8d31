"""A provider declines a work order it has not accepted: the order goes back to dispatch without it.

Under the order's lock, one transaction: the appointment back to pending (out of the provider's
list, the decline kept on it) and the next round's dispatch message (outbox), which names every
provider that declined so dispatch never offers the order to them again. The provider's open
work order closes on the timeline, in the same transaction. The same decline sent again answers the same.
"""

from __future__ import annotations

from petcover.domain.appointment_flow import FLOW, advance
from petcover.identity import Principal
from petcover.models.fulfilment import Appointment, Decline, DeclinedWorkOrder, DeclineRequest
from petcover.ports import Ports
from petcover.repositories import appointments as records
from petcover.services import outbox
from petcover.services.fulfilment import goods, ownership
from petcover.services.fulfilment.booking import dispatch_message
from petcover.services.fulfilment.transitions import DISPATCH_QUEUE, News, actor, announcement_ops, commit, locked


def redispatch_message(doc: Appointment) -> dict[str, object]:
    """The dispatch message of the round after the last decline."""
    return {
        **dispatch_message(doc),
        "declined": {d.provider_id: d.reason for d in doc.declines},
        "round": len(doc.declines),
    }


def _answer(appointment_id: str, d: Decline) -> DeclinedWorkOrder:
    return DeclinedWorkOrder(appointment_id=appointment_id, declined_at=d.at, reason=d.reason, redispatch=True)


def decline(p: Ports, who: Principal, appointment_id: str, req: DeclineRequest) -> DeclinedWorkOrder:
    """booking -> pending, without the provider; dispatch chooses again (or hands it to operations)."""
    ids: list[str] = []
    with locked(p, appointment_id) as lease:
        doc = records.find_appointment(p, appointment_id)
        earlier = next((d for d in doc.declines if d.provider_id == who.id), None) if doc else None
        if earlier is not None and who.kind == "provider":
            return _answer(appointment_id, earlier)  # a retry: declined already
        doc = ownership.own_work_order(p, who, appointment_id)
        new_state = FLOW.next_state(doc.status, "decline")
        now = p.now()
        mine = Decline(provider_id=who.id, reason=req.reason, at=now)
        after = advance(
            doc,
            "decline",
            new_state,
            actor(who),
            now,
            provider_id=None,
            manual=False,
            decision=None,
            declines=[*doc.declines, mine],
        )
        queued, oid = outbox.message(p, queue=DISPATCH_QUEUE, body=redispatch_message(after))
        # ``doc`` still names the provider whose work order the decline closes on the timeline.
        closing, _ = announcement_ops(p, doc, News(node="declined"))
        stock_ops, touched = goods.decline_ops(p, who, doc, req.reason)
        commit(p, lease, doc, after, index=records.unassigned_index(), ops=[queued, *closing, *stock_ops])
        ids.append(oid)
    outbox.release(p, *ids)
    goods.after_moves(p, touched)
    return _answer(appointment_id, mine)
