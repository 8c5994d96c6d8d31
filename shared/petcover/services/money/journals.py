"""Posting journals that are not a channel's policy event, and reversing any journal.

A journal is written with ``if_absent`` and never updated. What must happen once (a work order's
fee, a settlement's receipt, a reversal) also puts a marker item in the same transaction, so a
retry or a second run posts nothing twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from petcover.domain import calendar, journal, money
from petcover.domain.journal import Line
from petcover.domain.money import LedgerEntry, MoneyEvent
from petcover.errors import Conflict, NotFound, StaleWrite
from petcover.ports import Ports, Put, WriteOp
from petcover.repositories import ledger as ledger_repo
from petcover.services import ledger


def entry(
    p: Ports,
    *,
    book: str,
    event: MoneyEvent,
    lines: list[Line],
    basis_at: datetime | None = None,
    amount: Decimal | None = None,
    **fields: object,
) -> LedgerEntry:
    """A balanced journal in the open period of its time basis."""
    journal.assert_balanced(lines)
    now = p.now()
    basis = basis_at or now
    place = ledger.placement(p, book, basis, now)
    total = amount if amount is not None else journal.totals(lines)[0]
    return LedgerEntry.model_validate(
        {
            "id": uuid.uuid4().hex[:12],
            "at": now,
            "channel_id": "",
            "product_code": "",
            "plan_code": "",
            "policy_number": "",
            "event": event,
            "amount": total,
            "commission": Decimal(0),
            "net": total,
            "status": "receivable" if total >= 0 else "payable",
            "settle_by": money.settle_by_period(place.period),
            "lines": lines,
            "book": book,
            "period": place.period,
            "basis_period": place.basis_period,
            "adjustment": place.adjustment,
            "note": place.note,
            "time_basis": money.TIME_BASIS[event],
            "basis_at": basis,
            **fields,
        }
    )


def post_ops(e: LedgerEntry, *, once: str | None = None) -> list[WriteOp]:
    """The journal, its period-still-open check and (when given) its once-only marker."""
    ops: list[WriteOp] = [Put(ledger_repo.entry_item(e), if_absent=True), ledger_repo.open_check(e.book, e.period)]
    if once:
        pk, sk = ledger_repo.mark_key(once)
        ops.append(Put({"pk": pk, "sk": sk, "kind": "ledger_mark", "ref": e.id, "owner": e.book}, if_absent=True))
    return ops


def post(p: Ports, e: LedgerEntry, *, once: str | None = None, extra: list[WriteOp] | None = None) -> LedgerEntry:
    """Post alone (with ``extra`` writes); a second post of the same ``once`` key is refused."""
    try:
        p.store.transact([*post_ops(e, once=once), *(extra or [])])
    except StaleWrite:
        if once and p.store.get(*ledger_repo.mark_key(once)) is not None:
            raise Conflict(f"Already posted ({once}).", code="ALREADY_POSTED") from None
        raise
    return e


def already_posted(p: Ports, once: str) -> bool:
    return p.store.get(*ledger_repo.mark_key(once)) is not None


def load(p: Ports, book: str, period: str, entry_id: str) -> LedgerEntry:
    found = ledger_repo.find_entry(p.store, book, period, entry_id)
    if found is None:
        raise NotFound(f"No journal {entry_id} in {book} {period}.", code="JOURNAL_NOT_FOUND")
    return found


def reversal(p: Ports, original: LedgerEntry, *, reason: str, actor: str) -> tuple[LedgerEntry, str]:
    """The journal that undoes ``original`` (its lines swapped), and its once-only key."""
    e = entry(
        p,
        book=original.book or original.channel_id,
        event="reversal",
        lines=journal.reversed_lines(original.lines),
        amount=-original.amount,
        commission=-original.commission,
        net=-original.net,
        channel_id=original.channel_id,
        product_code=original.product_code,
        plan_code=original.plan_code,
        policy_number=original.policy_number,
        provider_id=original.provider_id,
        ref=original.ref,
        reverses=original.id,
        reason=reason,
        actor=actor,
    )
    return e, ledger_repo.once_key("REVERSAL", original.id)


def period_of(at: datetime) -> str:
    return calendar.month_of(at)
