"""Quota ledger of service benefits: hold, release, deduct, reconcile.

The balance lives on the policy's quota item (written by policies.py; keys and items in
``repositories.quota``) as top-level counters moved only by atomic ADD under conditions:
``available = quota - used - held``. A booking *holds* one use, a cancellation *releases* it,
and a fulfilled appointment turns the hold into *used* through the QuotaQueue consumer.
Benefits without a quota (unlimited) keep ``held`` and ``used`` but no ``available``. The
deduction request is an outbox message written with the fulfilled state (``deduction_request``).

Besides the counters this module writes a deduction marker per appointment, a mark per
policy+benefit whose quota moved on a business day (what the daily reconciliation checks) and
the reconciliation reports with mismatches.

Deduction is idempotent per appointment: the marker and the counter move are one transaction,
so the same message twice (even concurrently) deducts once. A failed deduction is retried by SQS
with a growing visibility timeout, then lands in QuotaDLQ; ops are alerted on the last attempt
and ``POST /ops/quota/redrive`` moves the DLQ back (``redrive_dlq``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from petcover.config import get_settings
from petcover.domain import calendar
from petcover.errors import BusinessRuleViolation, NotFound, StaleWrite, Unavailable
from petcover.identity import Principal
from petcover.models.fulfilment import QuotaMismatch, ReconcileReport, RedriveResult
from petcover.observability import logger
from petcover.ports import Item, Ports, Put, Update, WriteOp
from petcover.repositories import appointments as appointment_records
from petcover.repositories import policies as policy_records
from petcover.repositories import quota as quota_records
from petcover.repositories.quota import quota_key
from petcover.services import alerts, audit, outbox

QUOTA_QUEUE = "quota"
QUOTA_DLQ = "quota_dlq"
MAX_RECEIVE_COUNT = 5  # QuotaQueue's redrive maxReceiveCount in template.yaml
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 900
OPEN_STATES = ("pending", "booking", "booked", "fulfilling")


def business_day(p: Ports, at: datetime | None = None) -> str:
    return calendar.day_of(at or p.now()).isoformat()


# ---------------------------------------------------------------- counter operations


def hold_op(policy_number: str, benefit_code: str, limited: bool) -> Update:
    """One more use held; refused (StaleWrite) when nothing is available."""
    pk, sk = quota_key(policy_number, benefit_code)
    if limited:
        return Update(pk, sk, add={"held": 1, "available": -1}, expect=[("available", ">=", 1)], must_exist=True)
    return Update(pk, sk, add={"held": 1}, must_exist=True)


def release_op(policy_number: str, benefit_code: str, limited: bool) -> Update:
    pk, sk = quota_key(policy_number, benefit_code)
    if limited:
        return Update(pk, sk, add={"held": -1, "available": 1}, expect=[("held", ">=", 1)])
    return Update(pk, sk, add={"held": -1}, expect=[("held", ">=", 1)])


def activity_op(p: Ports, policy_number: str, benefit_code: str) -> Put:
    """Marks the policy+benefit for the daily reconciliation of this business day."""
    return quota_records.activity(business_day(p), policy_number, benefit_code, p.now())


def is_limited(quota_item: Item | None) -> bool:
    return quota_item is not None and quota_item.get("quota") is not None


def balance(p: Ports, policy_number: str, benefit_code: str) -> Item | None:
    return quota_records.find_quota(p, policy_number, benefit_code)


# ---------------------------------------------------------------- deduction (QuotaQueue consumer)


def deduction_message(appointment_id: str, policy_number: str, benefit_code: str) -> dict[str, Any]:
    return {"appointment_id": appointment_id, "policy_number": policy_number, "benefit_code": benefit_code}


def deduction_request(p: Ports, appointment_id: str, policy_number: str, benefit_code: str) -> tuple[Put, str]:
    """The QuotaQueue message for the fulfilment's own transaction, and the outbox id to release.

    Written with the fulfilled state, so a crash after that commit delays the deduction by the
    sweep interval instead of leaving it to the daily reconciliation.
    """
    return outbox.message(p, queue=QUOTA_QUEUE, body=deduction_message(appointment_id, policy_number, benefit_code))


def deduct(p: Ports, message: dict[str, Any]) -> str:
    """Turn the appointment's hold into one use: ``deducted``, or ``duplicate`` if already done.

    Only a fulfilled appointment is deducted. Anything else raises, so SQS retries it and the
    DLQ keeps it for ops. The message names the policy and benefit (it was written with the
    fulfilment), so the happy path is one transaction whose conditions check everything; the
    reads that tell a duplicate from a refusal happen only when it is refused.
    """
    appointment_id = str(message.get("appointment_id") or "")
    if not appointment_id:
        raise BusinessRuleViolation("The deduction message names no appointment.", code="BAD_QUOTA_MESSAGE")
    policy_number, benefit_code = message.get("policy_number"), message.get("benefit_code")
    if not policy_number or not benefit_code:
        policy_number, benefit_code = appointment_records.policy_and_benefit(_fulfilled(p, appointment_id))
    qpk, qsk = quota_key(policy_number, benefit_code)
    ops: list[WriteOp] = [
        quota_records.deduction(appointment_id, policy_number, benefit_code, p.now()),
        Update(qpk, qsk, add={"held": -1, "used": 1}, expect=[("held", ">=", 1)], must_exist=True),
        appointment_records.appointment_in_state(appointment_id, "fulfilled"),
        activity_op(p, policy_number, benefit_code),
    ]
    try:
        p.store.transact(ops)
    except StaleWrite:
        if quota_records.find_deduction(p, appointment_id) is not None:
            return "duplicate"
        _fulfilled(p, appointment_id)  # not there, or not fulfilled: says which
        raise BusinessRuleViolation(
            f"Quota of {policy_number}/{benefit_code} holds nothing for appointment {appointment_id}; "
            "the ledger needs reconciliation.",
            code="NOTHING_HELD",
        ) from None
    return "deducted"


def _fulfilled(p: Ports, appointment_id: str) -> Item:
    appt = p.store.get(*appointment_records.appointment_key(appointment_id))
    if appt is None:
        raise NotFound(f"Appointment {appointment_id} does not exist.", code="APPOINTMENT_NOT_FOUND")
    if appt.get("state") != "fulfilled":
        raise BusinessRuleViolation(
            f"Appointment {appointment_id} is {appt.get('state')}; only a fulfilled service uses quota.",
            code="NOT_FULFILLED",
        )
    return appt


def deduction_of(p: Ports, appointment_id: str) -> datetime | None:
    item = quota_records.find_deduction(p, appointment_id)
    return None if item is None else quota_records.deduction_time(item)


def backoff_seconds(receive_count: int) -> int:
    """Visibility timeout before the next attempt: 30 s, 60 s, 120 s, 240 s ... (cap 15 min)."""
    return int(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, receive_count - 1)))


def is_last_attempt(receive_count: int) -> bool:
    return receive_count >= MAX_RECEIVE_COUNT


def delay_retry(sqs: Any, queue_url: str, receipt_handle: str, receive_count: int) -> bool:
    """Adapter: push the failed message's next attempt out (exponential backoff). Best effort."""
    if not queue_url or not receipt_handle:
        return False
    try:
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=backoff_seconds(receive_count)
        )
        return True
    except Exception as exc:  # the default visibility timeout still applies
        logger.warning("could not delay the retry", extra={"error": str(exc)})
        return False


def redrive(p: Ports, who: Principal, sqs: Any) -> RedriveResult:
    """POST /ops/quota/redrive: QuotaDLQ back to QuotaQueue, audited."""
    s = get_settings()
    if not s.quota_dlq_url or not s.quota_queue_url:
        raise Unavailable("The quota queues are not configured here.", code="QUEUE_NOT_CONFIGURED")
    # Recorded before the messages move (a queue is not in a transaction), then amended with the count.
    started = audit.record(p, who, "queue", "QuotaDLQ", "redrive", after={"moved": None, "target": "QuotaQueue"})
    moved = redrive_dlq(sqs, s.quota_dlq_url, s.quota_queue_url)
    audit.amend(p, started, after={"moved": moved, "target": "QuotaQueue"})
    return RedriveResult(moved=moved, source="QuotaDLQ", target="QuotaQueue")


def redrive_dlq(sqs: Any, source_url: str, target_url: str, *, max_messages: int = 10_000) -> int:
    """Adapter: move messages from the DLQ back to the queue; returns how many moved.

    Each message is sent to the target first and deleted from the DLQ only once the send was
    accepted, so a crash in between duplicates a message (deduction is idempotent) but never
    loses one.
    """
    moved = 0
    while moved < max_messages:
        resp = sqs.receive_message(
            QueueUrl=source_url,
            MaxNumberOfMessages=min(10, max_messages - moved),
            WaitTimeSeconds=0,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
        )
        messages = resp.get("Messages") or []
        if not messages:
            return moved
        entries = []
        for i, m in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(i), "MessageBody": m["Body"]}
            if m.get("MessageAttributes"):
                entry["MessageAttributes"] = m["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=target_url, Entries=entries)
        ok = {int(s["Id"]) for s in sent.get("Successful") or []}
        if ok:
            sqs.delete_message_batch(
                QueueUrl=source_url,
                Entries=[{"Id": str(i), "ReceiptHandle": messages[i]["ReceiptHandle"]} for i in sorted(ok)],
            )
        moved += len(ok)
        if len(ok) < len(messages):
            logger.error("some DLQ messages were not moved", extra={"failed": sent.get("Failed")})
            return moved
    return moved


# ---------------------------------------------------------------- reconciliation


def check(p: Ports, policy_number: str, benefit_code: str) -> QuotaMismatch | None:
    """Prove used == fulfilled appointments (and held == open ones) for one policy and benefit."""
    q = balance(p, policy_number, benefit_code)
    if q is None:
        return None
    appts = appointment_records.appointments_of(p, policy_number, benefit_code)
    fulfilled = {str(a["ref"]) for a in appts if a.get("state") == "fulfilled"}
    open_ = sum(1 for a in appts if a.get("state") in OPEN_STATES)
    deducted = quota_records.deducted_appointments(p, policy_number, benefit_code)
    used, held = int(q.get("used", 0)), int(q.get("held", 0))
    quota = int(q["quota"]) if q.get("quota") is not None else None
    available = int(q["available"]) if q.get("available") is not None else None
    undeducted = sorted(fulfilled - deducted)
    problems: list[str] = []
    if used != len(fulfilled):
        problems.append(f"used is {used} but {len(fulfilled)} appointment(s) are fulfilled")
    if used != len(deducted):
        problems.append(f"used is {used} but {len(deducted)} deduction(s) were recorded")
    if undeducted:
        problems.append(f"{len(undeducted)} fulfilled appointment(s) not deducted yet: {', '.join(undeducted)}")
    stray = sorted(deducted - fulfilled)
    if stray:
        problems.append(f"deducted but not fulfilled: {', '.join(stray)}")
    expected_held = open_ + len(undeducted)
    if held != expected_held:
        problems.append(f"held is {held} but {expected_held} use(s) should be held")
    if quota is not None and available != quota - used - held:
        problems.append(f"available is {available} but quota - used - held is {quota - used - held}")
    if not problems:
        return None
    return QuotaMismatch(
        policy_number=policy_number,
        benefit_code=benefit_code,
        quota=quota,
        used=used,
        held=held,
        available=available,
        fulfilled=len(fulfilled),
        deducted=len(deducted),
        open=open_,
        problems=problems,
        undeducted=undeducted,
    )


def _targets_of_policy(p: Ports, policy_number: str) -> list[tuple[str, str]]:
    codes = quota_records.benefit_codes(p, policy_number)
    if not codes and p.store.get(*policy_records.policy_key(policy_number)) is None:
        raise NotFound(f"Policy {policy_number} does not exist.", code="POLICY_NOT_FOUND")
    return [(policy_number, code) for code in codes]


def reconcile(
    p: Ports, *, policy_number: str | None = None, day: str | None = None, repair: bool = False
) -> ReconcileReport:
    """Check one policy, or every policy+benefit whose quota moved on ``day`` (default: yesterday)."""
    if policy_number:
        targets = _targets_of_policy(p, policy_number)
        scope = f"policy {policy_number}"
    else:
        if day is None:
            day = calendar.yesterday(p.now()).isoformat()
        targets = list(quota_records.active_benefits(p, day))
        scope = f"day {day}"
    mismatches: list[QuotaMismatch] = []
    resent = 0
    for pol, benefit in targets:
        m = check(p, pol, benefit)
        if m is None:
            continue
        mismatches.append(m)
        if repair and m.undeducted:
            p.publisher.send(QUOTA_QUEUE, [deduction_message(a, pol, benefit) for a in m.undeducted])
            resent += len(m.undeducted)
    now = p.now()
    report = ReconcileReport(scope=scope, checked=len(targets), mismatches=mismatches, resent=resent, at=now)
    if mismatches:
        p.store.put(quota_records.reconciliation_report(business_day(p), now, report))
    return report


def reconcile_and_alert(p: Ports) -> ReconcileReport:
    """The daily job: yesterday's activity; any mismatch goes to the ops chat (once per day)."""
    report = reconcile(p)
    if report.mismatches:
        lines = [f"{m.policy_number}/{m.benefit_code}: {'; '.join(m.problems)}" for m in report.mismatches[:20]]
        more = len(report.mismatches) - len(lines)
        text = f"Quota reconciliation ({report.scope}): {len(report.mismatches)} mismatch(es)\n" + "\n".join(lines)
        if more > 0:
            text += f"\n... and {more} more (POST /ops/reconciliation for the full report)"
        try:
            alerts.raise_alert(p, target=None, text=text, dedupe_key=f"quota-recon:{report.scope}")
        except Exception:
            logger.exception("reconciliation alert not raised")
    return report
