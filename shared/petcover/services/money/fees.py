"""Provider fee schedules and the fee a fulfilled work order earns.

The fee is posted in the transaction that marks the order fulfilled, once per order (a marker keyed
by the order). An order no schedule covers posts nothing; the nightly reconciliation reports it once
as a configuration gap.
"""

from __future__ import annotations

from datetime import datetime

from petcover.domain import calendar, journal
from petcover.domain.fees import FeeSchedule, FeeVersion, fee_for, version_on
from petcover.errors import Conflict, InvalidInput, StaleWrite
from petcover.identity import Principal
from petcover.models.fulfilment import Appointment
from petcover.models.money import FeeSchedulePublish
from petcover.ports import Ports, WriteOp
from petcover.repositories import fees as fees_repo
from petcover.repositories import ledger as ledger_repo
from petcover.services import audit
from petcover.services.money import journals


def get_schedule(p: Ports, service_type: str) -> FeeSchedule:
    return fees_repo.get_schedule(p.store, service_type) or FeeSchedule(service_type=service_type)


def publish(p: Ports, who: Principal, service_type: str, req: FeeSchedulePublish) -> FeeVersion:
    """A new version; the earlier ones stay for orders fulfilled before its effective date."""
    today = calendar.today(p.now())
    if req.effective_from < today:
        raise InvalidInput(
            "A fee schedule cannot take effect in the past: fulfilled orders keep the fee they earned.",
            code="EFFECTIVE_FROM_IN_PAST",
            details=[{"field": "effective_from", "message": "before today"}],
        )
    if len({r.region for r in req.rates}) != len(req.rates):
        raise InvalidInput("Each region may have one fee.", code="VALIDATION_FAILED")
    schedule = get_schedule(p, service_type)
    version = FeeVersion(
        version=schedule.latest + 1,
        service_type=service_type,
        effective_from=req.effective_from,
        rates=req.rates,
        created_by=audit.actor_name(who),
        created_at=p.now(),
        reason=req.reason,
    )
    after = schedule.model_copy(update={"versions": [*schedule.versions, version]})
    ops: list[WriteOp] = [
        *fees_repo.publish_ops(after, version),
        audit.entry(
            p,
            who,
            "fee_schedule",
            service_type,
            "publish",
            after=version.model_dump(mode="json"),
            request_id=who.request_id,
            reason=req.reason,
        ),
    ]
    try:
        p.store.transact(ops)
    except StaleWrite:
        raise Conflict("The fee schedule changed meanwhile; reload and retry.", code="FEE_SCHEDULE_CHANGED") from None
    return version


def fee_ops(p: Ports, doc: Appointment, fulfilled_at: datetime) -> list[WriteOp]:
    """The fee journal of a fulfilled order, for the fulfilment's own transaction (none without a fee)."""
    if not doc.provider_id:
        return []
    schedule = fees_repo.get_schedule(p.store, doc.service_type)
    fee = fee_for(
        version_on(schedule, calendar.day_of(fulfilled_at)),
        doc.address.province,
        doc.address.city,
        doc.address.district,
    )
    if fee is None or fee == 0:
        return []
    e = journals.entry(
        p,
        book=provider_book(doc.provider_id),
        event="provider_fee",
        lines=journal.provider_fee_lines(doc.provider_id, fee),
        basis_at=fulfilled_at,
        amount=fee,
        channel_id=doc.channel_id,
        policy_number=doc.policy_number,
        provider_id=doc.provider_id,
        ref=doc.appointment_id,
        product_code=doc.service_type,
        plan_code=doc.benefit_code,
    )
    return journals.post_ops(e, once=ledger_repo.once_key("FEE", doc.appointment_id))


def provider_book(provider_id: str) -> str:
    return f"provider:{provider_id}"
