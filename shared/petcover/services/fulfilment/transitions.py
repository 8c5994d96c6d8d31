"""One change of an appointment after booking: under its lock, one transaction, then the sync.

Flow (states from ``domain.appointment_flow.FLOW``)::

    book (channel)      -> pending     quota held, one open appointment per benefit, dispatch queued
    assign (dispatch)   -> booking     provider chosen (or the ops queue: manual=True)
    accept (provider)   -> booked
    confirm-time        .. booked      offline: appointment time, one-time check-in code issued
    ship (provider)     -> fulfilling  online: carrier and tracking number
    tracking            .. fulfilling  online: tracking updates
    check-in (provider) -> fulfilling  offline: the owner's one-time code verifies the visit
    receipt (owner/auto)-> fulfilled   online
    deliver (provider)  -> fulfilled   offline
    cancel              -> cancelled   from pending, booking or booked only (hold released)

Every change after booking runs under the per-order lock (``locks``, module ``FUL``) and is one
transaction: the appointment update is conditional on the expected state and version, and a
Check on the lock item proves the caller still holds the current lease (fence, token, expiry).
The one exception is a new order's first assignment, which rides on dispatch's decision: it
proves instead that nobody holds the lock at commit (``locks.free_check``), which with the
version condition is as strong (``assignment.first_assignment_ops``).
What the change announces is in that transaction too (``News``): the timeline node, the channel
webhook, and on fulfilment the QuotaQueue message that asks the ledger to deduct
(``quota.deduct``); the messages are published after the commit, or by the outbox sweeper.

Channel webhooks (object_type ``appointment``): appointment.booked, .assigned, .accepted,
.time_confirmed, .shipped, .tracking, .served (checked in), .fulfilled, .cancelled.
Timeline nodes (``timeline.node_ops``): assigned, accepted, appointment_confirmed, shipped,
served, completed, cancelled.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from petcover.domain import calendar
from petcover.errors import Conflict, StaleWrite
from petcover.identity import Principal
from petcover.models.fulfilment import Appointment
from petcover.observability import logger
from petcover.ports import Item, Ports, Put, WriteOp
from petcover.repositories import appointments as records
from petcover.repositories import insurers as insurer_repo
from petcover.repositories import overview as overview_repo
from petcover.services import alerts, locks, outbox, quota, timeline
from petcover.services.webhooks import events as webhook_events

MODULE = "FUL"  # the lock module code of an appointment (the SLA exceptions lock it too)
OBJECT_TYPE = "appointment"
DISPATCH_QUEUE = "dispatch"
# Refusals a retry may overcome: a batch item that meets them is retried, not rejected.
TRANSIENT_CODES = {"ORDER_LOCKED", "POLICY_CHANGED", "APPOINTMENT_CHANGED", "REQUEST_IN_PROGRESS", "LEASE_LOST"}


def actor(who: Principal | str) -> str:
    return who if isinstance(who, str) else f"{who.kind}:{who.id}"


@contextmanager
def locked(p: Ports, appointment_id: str) -> Iterator[locks.Lease]:
    with locks.held(p, appointment_id, MODULE) as lease:
        yield lease


@dataclass(frozen=True)
class News:
    """What a committed change announces: its timeline node, its channel webhook, and other outbox
    messages (``outbox.message``: the write and its id), e.g. the quota deduction request."""

    node: str | None = None
    event: str | None = None
    payload: Mapping[str, Any] | None = None
    messages: tuple[tuple[Put, str], ...] = ()
    first: bool = False  # the object's first webhook (a new booking): no version to read


def commit(
    p: Ports,
    lease: locks.Lease,
    before: Appointment,
    after: Appointment,
    *,
    index: Mapping[str, Any] | None = None,
    ops: list[WriteOp] | None = None,
    news: News | None = None,
    release: bool = False,
    known: Mapping[tuple[str, str], Item] | None = None,
) -> None:
    """One transaction: the appointment (expected state + version), extra ops, what the change
    announces (``news``), the lease check; then the announced messages are released.

    ``release``: the transaction also ends the lease (``Lease.release_op``), for a holder whose
    last write this is; the caller then does not release it again. ``known``: the announcement's
    reads, already made under the lock with the appointment (``reads``)."""
    guard = lease.release_op(p) if release else lease.check(p)
    write, outbox_ids = change_ops(p, before, after, guard, index=index, ops=ops, news=news, known=known)
    try:
        p.store.transact(write)
    except StaleWrite:
        if not lease.valid(p):
            raise Conflict(
                f"Changing appointment {before.appointment_id} took longer than its lock allows; nothing was "
                "written. Reload it and retry.",
                code="LEASE_LOST",
                retry_after=1,
            ) from None
        raise Conflict(
            f"Appointment {before.appointment_id} changed meanwhile; reload it and retry.",
            code="APPOINTMENT_CHANGED",
        ) from None
    outbox.release(p, *outbox_ids)


def change_ops(
    p: Ports,
    before: Appointment,
    after: Appointment,
    guard: WriteOp,
    *,
    index: Mapping[str, Any] | None = None,
    ops: list[WriteOp] | None = None,
    news: News | None = None,
    known: Mapping[tuple[str, str], Item] | None = None,
) -> tuple[list[WriteOp], list[str]]:
    """``commit``'s transaction, and the outbox ids to release after it. ``guard``: what proves the
    order's lock allows the change (the holder's lease check, or that nobody holds it)."""
    announced, outbox_ids = announcement_ops(p, after, news or News(), known)
    write: list[WriteOp] = [
        records.appointment_change(before, after, index),
        *(ops or []),
        *announced,
        *_overview_ops(p, before, after),
        *(insurer_counter_ops(after, "fulfilled", p.now()) if _reached(before, after, "fulfilled") else []),
        guard,
    ]
    return write, outbox_ids


# Appointment states the overview counts on the business day they are reached.
OVERVIEW_STATES = {"fulfilled": "fulfilled", "cancelled": "appointments_cancelled"}


def _overview_ops(p: Ports, before: Appointment, after: Appointment) -> list[WriteOp]:
    counter = OVERVIEW_STATES.get(after.status)
    if counter is None or before.status == after.status:
        return []
    return [overview_repo.day_add(calendar.day_of(p.now()), {counter: 1})]


def _reached(before: Appointment, after: Appointment, status: str) -> bool:
    return after.status == status and before.status != status


def insurer_counter_ops(doc: Appointment, counter: insurer_repo.FulfilmentCounter, at: datetime) -> list[WriteOp]:
    """The month row of the insurer that underwrote the policy (its portal's products), for the
    booking's or the fulfilment's own transaction; nothing for in-house policies."""
    if not (doc.underwriter_id and doc.product_code):
        return []
    return [insurer_repo.fulfilment_add(doc.underwriter_id, calendar.month_of(at), doc.product_code, counter)]


def release_ops(p: Ports, doc: Appointment) -> list[WriteOp]:
    """A final state frees the benefit for a new booking (and marks the day's quota activity)."""
    return [
        records.open_marker_removal(doc.policy_number, doc.benefit_code, doc.appointment_id),
        quota.activity_op(p, doc.policy_number, doc.benefit_code),
    ]


def is_limited(p: Ports, doc: Appointment) -> bool:
    """True when the appointment's benefit has a quota (as stored now)."""
    return quota.is_limited(quota.balance(p, doc.policy_number, doc.benefit_code))


def event_payload(doc: Appointment, **extra: Any) -> dict[str, Any]:
    return {
        "appointment_id": doc.appointment_id,
        "policy_number": doc.policy_number,
        "benefit_code": doc.benefit_code,
        "service_type": doc.service_type,
        "mode": doc.mode,
        "status": doc.status,
        "version": doc.version,
        **extra,
    }


def _region(doc: Appointment) -> str:
    return doc.address.district or doc.address.city or doc.address.province


def reads(appointment_id: str) -> list[tuple[str, str]]:
    """The appointment and what announcing its change reads (open work order, webhook version):
    one batched read under the lock instead of three."""
    return [
        records.appointment_key(appointment_id),
        *timeline.reads(appointment_id),
        *webhook_events.version_reads(OBJECT_TYPE, appointment_id),
    ]


def announcement_ops(
    p: Ports, doc: Appointment, news: News, known: Mapping[tuple[str, str], Item] | None = None
) -> tuple[list[WriteOp], list[str]]:
    """The writes that announce a change, for the change's own transaction, and the outbox ids to
    release after it: the provider-side timeline node (the SLA check reads it), the channel's
    webhook (event, log entry, first delivery message), and the other messages (``News``).

    Nothing here is sent before the commit, and nothing is lost after it: a crash between the
    two leaves the messages to the outbox sweeper. The caller holds the appointment's lock, so
    nodes and webhook versions follow the order of the changes.
    """
    ops: list[WriteOp] = []
    ids: list[str] = []
    if news.node and doc.provider_id:
        node_ops, _ = timeline.node_ops(
            p,
            order_id=doc.appointment_id,
            provider_id=doc.provider_id,
            node=news.node,
            service_type=doc.service_type,
            region=_region(doc),
            online=doc.mode == "online",
            known=known,
        )
        ops += node_ops
    if news.event:
        hook_ops, hook_id = webhook_events.announcement(
            p,
            channel_id=doc.channel_id,
            object_type=OBJECT_TYPE,
            object_id=doc.appointment_id,
            event_type=news.event,
            payload=event_payload(doc, **(news.payload or {})),
            first=news.first,
            known=known,
        )
        ops += hook_ops
        ids.append(hook_id)
    for write, oid in news.messages:
        ops.append(write)
        ids.append(oid)
    return ops, ids


def alert_ops(p: Ports, text: str, dedupe_key: str) -> None:
    """Best effort: a failed alert is logged, never raised over the failure it reports."""
    try:
        alerts.raise_alert(p, target=None, text=text, dedupe_key=dedupe_key)
    except Exception:
        logger.exception("alert not raised", extra={"dedupe_key": dedupe_key})
