"""What a channel and the staff see of an appointment (reads only)."""

from __future__ import annotations

from petcover.identity import Principal
from petcover.models.fulfilment import Appointment, AppointmentList, CheckIn, Deduction, StaffAppointment
from petcover.ports import Ports
from petcover.repositories import appointments as records
from petcover.services import locks, quota, timeline
from petcover.services.fulfilment import ownership
from petcover.services.fulfilment.transitions import MODULE


def _checkin_for_owner(p: Ports, doc: Appointment) -> CheckIn | None:
    """The owner's code, shown while an offline appointment is booked and the code is unused."""
    if doc.mode != "offline" or doc.status != "booked":
        return None
    item = records.find_checkin(p, doc.appointment_id)
    if item is None or item.get("state") != "issued":
        return None
    return records.checkin_from_item(item)


def get_for_channel(p: Ports, who: Principal | None, appointment_id: str) -> Appointment:
    """The channel's view (own appointments only), with the owner's check-in code once issued."""
    doc = ownership.load(p, appointment_id) if who is None else ownership.own_appointment(p, who, appointment_id)
    return doc.model_copy(update={"checkin": _checkin_for_owner(p, doc), "decision": None, "declines": []})


def list_for_policy(p: Ports, who: Principal, policy_number: str, *, limit: int, cursor: str | None) -> AppointmentList:
    """The appointments of one of the channel's own policies (the pet owner's view), grouped by benefit."""
    from petcover.services import policies  # the policy service loads only for this view

    policies.get_for(p, who, policy_number)  # another channel's policy is simply not found
    page = records.policy_appointments_page(p, policy_number, limit=limit, cursor=cursor)
    docs = (records.appointment_from_item(item) for item in page.items)
    return AppointmentList(
        items=[
            d.model_copy(update={"checkin": _checkin_for_owner(p, d), "decision": None, "declines": []}) for d in docs
        ],
        cursor=page.cursor,
    )


def get_for_staff(p: Ports, appointment_id: str) -> StaffAppointment:
    """Any appointment with its dispatch decision, quota deduction, lock and timeline."""
    doc = ownership.load(p, appointment_id)
    at = quota.deduction_of(p, appointment_id)
    lock = locks.current(p, appointment_id, MODULE)
    lock_view = {"fence": int(lock.get("fence", 0)), "expires_at": int(lock.get("expires_at", 0))} if lock else None
    nodes = [n.model_dump(mode="json") for n in timeline.nodes(p, appointment_id)]
    return StaffAppointment(
        appointment=doc, deduction=Deduction(deducted=at is not None, at=at), lock=lock_view, nodes=nodes
    )
