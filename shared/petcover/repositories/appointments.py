"""The appointment aggregate (a booking and the provider's work order for it): keys, indexes, items.

Keys (main table):
  APPT#{id} / APPT              the appointment: state, version, owner = channel, ref = id, data;
                                gsi1 WORKORDERS#{provider} / {assigned_at}#{id} (a provider's list)
                                  or OPSQUEUE / {at}#{id} while manual;
                                gsi2 POLAPPT#{policy} / {benefit}#{id} (a policy's appointments);
                                gsi3 SHIPPED#{day} / {shipped_at}#{id} while shipped, not received
  APPT#{id} / CHECKIN           the one-time check-in code: state issued/used, attempts
  POLICY#{n} / OPENAPPT#{benefit}  the open appointment of a benefit (conditional put: no duplicates)
  BATCH#{id} / BATCH            a booking batch: total, accepted, issued, rejected (atomic ADD)
  BATCH#{id} / ITEM#{index}     the result of one batch item (conditional put: once per item)
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from petcover.ports import Check, Delete, Item, Page, Ports, Put, Update
from petcover.repositories.base import paginate
from petcover.repositories.policies import policy_pk

if TYPE_CHECKING:  # the models load when an appointment is read: key builders (quota, policies) skip them
    from petcover.models.fulfilment import Appointment, BatchItemResult, BatchStatus, CheckIn

APPOINTMENT = "APPT"
CHECKIN = "CHECKIN"
OPEN_APPOINTMENT_PREFIX = "OPENAPPT#"
BATCH = "BATCH"
BATCH_ITEM_PREFIX = "ITEM#"
OPS_QUEUE = "OPSQUEUE"
CHECKIN_KEPT_AFTER_EXPIRY = timedelta(days=30)  # TTL cleanup only


# ---------------------------------------------------------------- keys and index values


def appointment_pk(appointment_id: str) -> str:
    return f"APPT#{appointment_id}"


def appointment_key(appointment_id: str) -> tuple[str, str]:
    return appointment_pk(appointment_id), APPOINTMENT


def checkin_key(appointment_id: str) -> tuple[str, str]:
    return appointment_pk(appointment_id), CHECKIN


def open_appointment_key(policy_number: str, benefit_code: str) -> tuple[str, str]:
    return policy_pk(policy_number), f"{OPEN_APPOINTMENT_PREFIX}{benefit_code}"


def batch_pk(batch_id: str) -> str:
    return f"BATCH#{batch_id}"


def batch_key(batch_id: str) -> tuple[str, str]:
    return batch_pk(batch_id), BATCH


def batch_item_key(batch_id: str, index: int) -> tuple[str, str]:
    return batch_pk(batch_id), f"{BATCH_ITEM_PREFIX}{index:04d}"


def policy_appointments_pk(policy_number: str) -> str:
    """gsi2: every appointment of a policy, sorted by benefit."""
    return f"POLAPPT#{policy_number}"


def benefit_prefix(benefit_code: str) -> str:
    """The gsi2 sort-key prefix of one benefit's appointments (also used by the quota deductions)."""
    return f"{benefit_code}#"


def work_orders_pk(provider_id: str) -> str:
    """gsi1: the work orders assigned to a provider."""
    return f"WORKORDERS#{provider_id}"


def shipped_pk(day: str) -> str:
    """gsi3: online services shipped on a business day and not received yet."""
    return f"SHIPPED#{day}"


def assignment_index(provider_id: str | None, at: datetime, appointment_id: str) -> dict[str, Any]:
    """gsi1 of an assigned appointment: the provider's list, or the operations queue when manual."""
    pk = work_orders_pk(provider_id) if provider_id else OPS_QUEUE
    return {"gsi1pk": pk, "gsi1sk": f"{at.isoformat()}#{appointment_id}"}


def unassigned_index() -> dict[str, Any]:
    """A declined appointment leaves the provider's list until dispatch assigns it again."""
    return {"gsi1pk": None, "gsi1sk": None}


def shipped_index(day: str, at: datetime, appointment_id: str) -> dict[str, Any]:
    return {"gsi3pk": shipped_pk(day), "gsi3sk": f"{at.isoformat()}#{appointment_id}"}


def out_of_shipped_index() -> dict[str, Any]:
    """Received, fulfilled or cancelled: the appointment leaves the shipped index."""
    return {"gsi3pk": None, "gsi3sk": None}


# ---------------------------------------------------------------- the appointment item


def appointment_data(doc: Appointment) -> str:
    """The stored document; the owner's check-in code lives in its own item, never here."""
    return doc.model_dump_json(exclude={"checkin"})


def appointment_from_item(item: Item) -> Appointment:
    from petcover.models.fulfilment import Appointment

    doc = Appointment.model_validate_json(item["data"])
    return doc.model_copy(update={"status": item["state"], "version": int(item["version"])})


def find_appointment(p: Ports, appointment_id: str) -> Appointment | None:
    item = p.store.get(*appointment_key(appointment_id))
    return None if item is None else appointment_from_item(item)


def policy_and_benefit(item: Item) -> tuple[str, str]:
    """The policy number and benefit code of a stored appointment item."""
    doc = json.loads(item["data"])
    return doc["policy_number"], doc["benefit_code"]


def new_appointment(doc: Appointment) -> Put:
    """A new appointment, indexed under its policy (conditional: never over an existing one)."""
    pk, sk = appointment_key(doc.appointment_id)
    return Put(
        {
            "pk": pk,
            "sk": sk,
            "kind": "appointment",
            "state": doc.status,
            "version": doc.version,
            "owner": doc.channel_id,
            "ref": doc.appointment_id,
            "gsi2pk": policy_appointments_pk(doc.policy_number),
            "gsi2sk": f"{benefit_prefix(doc.benefit_code)}{doc.appointment_id}",
            "data": appointment_data(doc),
        },
        if_absent=True,
    )


def appointment_change(before: Appointment, after: Appointment, index: Mapping[str, Any] | None = None) -> Update:
    """The new state and document, conditional on the state and version it was read at."""
    pk, sk = appointment_key(before.appointment_id)
    return Update(
        pk,
        sk,
        set={"state": after.status, "version": after.version, "data": appointment_data(after), **(index or {})},
        expect=[("state", "=", before.status), ("version", "=", before.version)],
    )


def appointment_in_state(appointment_id: str, state: str) -> Check:
    return Check(*appointment_key(appointment_id), expect=[("state", "=", state)])


def work_orders_page(p: Ports, provider_id: str, *, limit: int, cursor: str | None) -> Page:
    """One page of a provider's work orders, newest first (the API pages them)."""
    return p.store.query(work_orders_pk(provider_id), index="gsi1", limit=limit, cursor=cursor, descending=True)


def shipped_until(p: Ports, day: str, cutoff: datetime) -> Iterator[Item]:
    """Appointments shipped on ``day`` no later than ``cutoff`` and not received yet."""
    return paginate(p.store, shipped_pk(day), index="gsi3", sk_lte=cutoff.isoformat(), limit=200)


def policy_appointments_page(p: Ports, policy_number: str, *, limit: int, cursor: str | None) -> Page:
    """One page of a policy's appointments, grouped by benefit."""
    return p.store.query(policy_appointments_pk(policy_number), index="gsi2", limit=limit, cursor=cursor)


def appointments_of(p: Ports, policy_number: str, benefit_code: str) -> list[Item]:
    """Every appointment of a policy's benefit, whatever its state."""
    pk = policy_appointments_pk(policy_number)
    return list(paginate(p.store, pk, index="gsi2", sk_prefix=benefit_prefix(benefit_code), limit=200))


# ---------------------------------------------------------------- the open appointment of a benefit


def open_marker(policy_number: str, benefit_code: str, appointment_id: str, channel_id: str) -> Put:
    """One open appointment per benefit: the put fails while another is open."""
    pk, sk = open_appointment_key(policy_number, benefit_code)
    return Put(
        {"pk": pk, "sk": sk, "kind": "open_appointment", "ref": appointment_id, "owner": channel_id}, if_absent=True
    )


def open_marker_removal(policy_number: str, benefit_code: str, appointment_id: str) -> Delete:
    pk, sk = open_appointment_key(policy_number, benefit_code)
    return Delete(pk, sk, expect=[("ref", "=?", appointment_id)])  # never another appointment's marker


def find_open_marker(p: Ports, policy_number: str, benefit_code: str) -> Item | None:
    return p.store.get(*open_appointment_key(policy_number, benefit_code))


def open_markers(p: Ports, policy_number: str) -> Iterator[Item]:
    """The open-appointment markers of a policy, one per benefit with an open appointment."""
    return paginate(p.store, policy_pk(policy_number), sk_prefix=OPEN_APPOINTMENT_PREFIX, limit=100)


# ---------------------------------------------------------------- the one-time check-in code


def issued_checkin(appointment_id: str, checkin: CheckIn, issued_at: datetime) -> Put:
    """A fresh code replaces any earlier one (attempts start again at 0)."""
    pk, sk = checkin_key(appointment_id)
    return Put(
        {
            "pk": pk,
            "sk": sk,
            "kind": "checkin_code",
            "state": "issued",
            "attempts": 0,
            "expires_at": int((checkin.expires_at + CHECKIN_KEPT_AFTER_EXPIRY).timestamp()),
            "data": json.dumps({**checkin.model_dump(mode="json"), "issued_at": issued_at.isoformat()}),
        }
    )


def find_checkin(p: Ports, appointment_id: str) -> Item | None:
    return p.store.get(*checkin_key(appointment_id))


def checkin_from_item(item: Item) -> CheckIn:
    from petcover.models.fulfilment import CheckIn

    d = json.loads(item["data"])
    return CheckIn(code=d["code"], qr_payload=d["qr_payload"], expires_at=d["expires_at"])


def issued_code(item: Item) -> tuple[str, datetime]:
    """The code as issued and when it expires."""
    d = json.loads(item["data"])
    return str(d["code"]), datetime.fromisoformat(d["expires_at"])


def count_wrong_checkin(p: Ports, appointment_id: str) -> None:
    p.store.update(*checkin_key(appointment_id), add={"attempts": 1}, must_exist=True)


def checkin_used(appointment_id: str) -> Update:
    pk, sk = checkin_key(appointment_id)
    return Update(pk, sk, set={"state": "used"}, expect=[("state", "=", "issued")], must_exist=True)


# ---------------------------------------------------------------- booking batches


def new_batch(batch_id: str, channel_id: str, total: int, accepted: int, rejected: int, created_at: datetime) -> Item:
    pk, sk = batch_key(batch_id)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "booking_batch",
        "owner": channel_id,
        "total": total,
        "accepted": accepted,
        "issued": 0,
        "rejected": rejected,
        "data": json.dumps({"batch_id": batch_id, "channel_id": channel_id, "created_at": created_at.isoformat()}),
    }


def find_batch(p: Ports, batch_id: str) -> Item | None:
    return p.store.get(*batch_key(batch_id))


def batch_counted(batch_id: str, counter: str) -> Update:
    """One more item issued or rejected (atomic ADD)."""
    return Update(*batch_key(batch_id), add={counter: 1})


def batch_result(batch_id: str, result: BatchItemResult, *, dispatch_queued: bool = False) -> Put:
    """The result of one item, written once; ``n`` counts the dispatch sends of a booked item
    (1 at once when the dispatch request commits with the booking, through the outbox)."""
    pk, sk = batch_item_key(batch_id, result.index)
    n = 1 if dispatch_queued else 0
    return Put(
        {"pk": pk, "sk": sk, "kind": "batch_item", "state": result.status, "n": n, "data": result.model_dump_json()},
        if_absent=True,
    )


def find_batch_result(p: Ports, batch_id: str, index: int) -> Item | None:
    return p.store.get(*batch_item_key(batch_id, index))


def mark_batch_item_dispatched(p: Ports, batch_id: str, index: int) -> None:
    p.store.update(*batch_item_key(batch_id, index), add={"n": 1})


def batch_status(p: Ports, batch_id: str, item: Item, *, limit: int, cursor: str | None) -> BatchStatus:
    """The batch's counters and one page of its item results (the API pages them)."""
    from petcover.models.fulfilment import BatchItemResult, BatchStatus

    page = p.store.query(batch_pk(batch_id), sk_prefix=BATCH_ITEM_PREFIX, limit=limit, cursor=cursor)
    total, issued, rejected = int(item.get("total", 0)), int(item.get("issued", 0)), int(item.get("rejected", 0))
    return BatchStatus(
        batch_id=batch_id,
        created_at=json.loads(item["data"])["created_at"],
        total=total,
        accepted=int(item.get("accepted", 0)),
        issued=issued,
        rejected=rejected,
        pending=max(0, total - issued - rejected),
        done=issued + rejected >= total,
        items=[BatchItemResult.model_validate_json(i["data"]) for i in page.items],
        cursor=page.cursor,
    )
