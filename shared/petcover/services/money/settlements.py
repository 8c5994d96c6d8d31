"""Settlement runs: a channel's or a provider's statement of a month, and what ops do with it.

A run (monthly schedule or on demand) is idempotent per party and month: it locks the period (late
events go to the next open one as adjustments), derives the statement from the period's journals,
writes JSON, CSV and XLSX to the document bucket and records the statement once. A run killed midway
is simply run again: the lock, the files and the record are each written so that a second write
changes nothing, and the run itself posts no journal.

Channel: ops confirm receipt of the payment, which posts it (cash against the channel's receivable)
and marks the statement settled. Provider: ops approve the statement (not the person who ran it),
then mark it paid, which posts the payment. Both postings happen once per statement.
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

from petcover.domain import calendar, exports, journal, settlement
from petcover.domain.money import LedgerEntry, MoneyEvent
from petcover.errors import (
    BusinessRuleViolation,
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    StaleWrite,
)
from petcover.identity import Principal
from petcover.models.money import Settlement, SettlementAction, SettlementFile, SettlementLine
from petcover.ports import Ports, WriteOp
from petcover.repositories import ledger as ledger_repo
from petcover.repositories import settlements as repo
from petcover.services import audit, channels
from petcover.services.money import checks, deductions, journals
from petcover.services.partners import directory

LINE_COLUMNS = (
    "at",
    "basis_at",
    "time_basis",
    "event",
    "policy_number",
    "ref",
    "amount",
    "commission",
    "net",
    "adjustment",
    "note",
)
MAX_CATCH_UP_MONTHS = 24
TRANSITIONS = {  # (party, action) -> (from, to)
    ("channel", "confirm-receipt"): ("issued", "settled"),
    ("provider", "approve"): ("issued", "approved"),
    ("provider", "mark-paid"): ("approved", "paid"),
}
MIME = {
    "json": "application/json",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def book_of(party: str, party_id: str) -> str:
    return party_id if party == "channel" else f"provider:{party_id}"


# ------------------------------------------------------------------ run
def run(p: Ports, actor: str, party: str, party_id: str, month: str) -> Settlement:
    sid = repo.settlement_id(party, party_id, month)
    found = repo.get(p.store, sid)
    if found is not None:
        return found[0]
    if month >= calendar.month_of(p.now()):
        raise BusinessRuleViolation(
            f"{month} has not ended yet; it can be settled from its first next day.", code="PERIOD_NOT_ENDED"
        )
    book = book_of(party, party_id)
    previous = repo.latest_before(p.store, party, party_id, month)
    _earlier_period_run(p, book, previous, month)
    if party == "provider":
        deductions.deduct(p, party_id, month)  # before the lock: the deduction belongs to the month
    _lock(p, book, month)
    entries = list(ledger_repo.month_entries(p.store, book, month))
    s = statement(p, actor, party, party_id, month, previous, entries)
    s = s.model_copy(update={"files": write_files(p, s)})
    try:
        p.store.transact([repo.new_item(s), audit.entry(p, actor, "settlement", sid, "run", after=_summary(s))])
    except StaleWrite:  # a concurrent run recorded it first: same period, same journals, same statement
        got = repo.get(p.store, sid)
        if got is None:
            raise
        return got[0]
    return s.model_copy(update={"lines": []})  # the lines are in the files


def _earlier_period_run(p: Ports, book: str, previous: Settlement | None, month: str) -> None:
    """Statements follow each other: the month before must be run first when it had any journal."""
    before = journal.previous_month(month)
    if previous is not None and previous.month == before:
        return
    if p.store.query(ledger_repo.ledger_pk(book, before), limit=1).items:
        raise BusinessRuleViolation(
            f"Run the settlement of {before} first.", code="EARLIER_PERIOD_NOT_RUN", details={"month": before}
        )


def _lock(p: Ports, book: str, month: str) -> None:
    """Periods lock in order and never unlock; a second run finds it locked and goes on."""
    locked = ledger_repo.locked_through(p.store, book)
    if locked is not None and locked >= month:
        return
    with contextlib.suppress(StaleWrite):  # a concurrent run locked it
        p.store.transact([ledger_repo.lock_through(book, month)])


def statement(
    p: Ports,
    actor: str,
    party: str,
    party_id: str,
    month: str,
    previous: Settlement | None,
    entries: list[LedgerEntry],
) -> Settlement:
    account = settlement.party_account(party, party_id)
    mine = [e for e in entries if settlement.touches(e, account)]
    t = settlement.totals(party, party_id, mine)
    opening = previous.closing_balance if previous else Decimal(0)
    return Settlement(
        settlement_id=repo.settlement_id(party, party_id, month),
        party=party,  # type: ignore[arg-type]
        party_id=party_id,
        month=month,
        status="issued",
        opening_balance=opening,
        receivables=t.receivables,
        refunds=t.refunds,
        commission=t.commission,
        adjustments=t.adjustments,
        fees=t.fees,
        deductions=t.deductions,
        payments=t.payments,
        net_due=t.net_due,
        closing_balance=opening + t.movement,
        lines=[_line(e, account) for e in mine],
        created_at=p.now(),
        created_by=actor,
    )


def _line(e: LedgerEntry, account: str) -> SettlementLine:
    return SettlementLine(
        at=e.at,
        basis_at=e.basis_at,
        time_basis=e.time_basis,
        event=e.event,
        policy_number=e.policy_number,
        ref=e.ref,
        amount=e.amount,
        commission=e.commission if account.startswith("channel") else Decimal(0),
        net=settlement.movement(e, account),
        adjustment=e.adjustment,
        note=e.note,
    )


def _summary(s: Settlement) -> dict[str, Any]:
    return s.model_dump(mode="json", exclude={"lines", "files"})


SUMMARY_ROWS = (
    "opening_balance",
    "receivables",
    "refunds",
    "commission",
    "fees",
    "deductions",
    "adjustments",
    "net_due",
    "payments",
    "closing_balance",
)


def _rows(s: Settlement) -> list[list[Any]]:
    return [
        [
            ln.at,
            ln.basis_at,
            ln.time_basis,
            ln.event,
            ln.policy_number,
            ln.ref or "",
            ln.amount,
            ln.commission,
            ln.net,
            ln.adjustment,
            ln.note or "",
        ]
        for ln in s.lines
    ]


def render(s: Settlement, fmt: str) -> bytes:
    if fmt == "json":
        return s.model_dump_json(indent=1).encode()
    summary = [[k, getattr(s, k)] for k in SUMMARY_ROWS]
    if fmt == "csv":
        head = exports.to_csv(("item", "amount"), [["settlement", s.settlement_id], *summary])
        return (head + "\n" + exports.to_csv(LINE_COLUMNS, _rows(s))).encode("utf-8-sig")
    return exports.to_xlsx(
        [
            ("summary", ("item", "amount"), [["settlement", s.settlement_id], *summary]),
            ("lines", LINE_COLUMNS, _rows(s)),
        ]
    )


def write_files(p: Ports, s: Settlement) -> dict[str, str]:
    blobs = p.blobs
    if blobs is None:
        raise RuntimeError("the document bucket is not configured for this function")
    files = {}
    for fmt in ("json", "csv", "xlsx"):
        key = repo.settlement_file(s.settlement_id, fmt)
        blobs.put_bytes(key, render(s, fmt), MIME[fmt])
        files[fmt] = key
    return files


# ------------------------------------------------------------------ read
def get(p: Ports, sid: str) -> tuple[Settlement, int]:
    if repo.parse_id(sid) is None:
        raise InvalidInput("A settlement id is {channel|provider}.{id}.{YYYY-MM}.", code="VALIDATION_FAILED")
    found = repo.get(p.store, sid)
    if found is None:
        raise NotFound(f"Settlement {sid} has not been run.", code="SETTLEMENT_NOT_FOUND")
    return found


def file(p: Ports, sid: str, fmt: str) -> SettlementFile:
    if fmt not in MIME:
        raise InvalidInput("The format is json, csv or xlsx.", code="VALIDATION_FAILED")
    s, _ = get(p, sid)
    body = p.blobs.get_bytes(s.files.get(fmt, "")) if p.blobs else None
    if body is None:
        raise NotFound(f"The {fmt} file of settlement {sid} is missing.", code="SETTLEMENT_FILE_MISSING")
    if fmt == "xlsx":
        import base64

        return SettlementFile(
            settlement_id=sid,
            format="xlsx",
            content_type=MIME[fmt],
            encoding="base64",
            content=base64.b64encode(body).decode(),
        )
    return SettlementFile(
        settlement_id=sid,
        format=fmt,
        content_type=MIME[fmt],
        encoding="utf-8",  # type: ignore[arg-type]
        content=body.decode("utf-8-sig"),
    )


# ------------------------------------------------------------------ confirm receipt, approve, mark paid
def act(p: Ports, who: Principal, sid: str, action: str, req: SettlementAction) -> Settlement:
    s, version = get(p, sid)
    move = TRANSITIONS.get((s.party, action))
    if move is None:
        raise InvalidInput(f"A {s.party} settlement has no action {action}.", code="UNKNOWN_ACTION")
    if s.status != move[0]:
        raise IllegalTransition(f"Settlement {sid} is {s.status}; {action} needs it {move[0]}.")
    actor = audit.actor_name(who)
    if action == "approve" and actor == s.created_by:
        raise Forbidden("The statement must be approved by someone other than who ran it.", code="SAME_PERSON")
    after = s.model_copy(
        update={
            "status": move[1],
            "decided": [
                *s.decided,
                {"action": action, "by": actor, "at": p.now().isoformat(), "reference": req.reference},
            ],
        }
    )
    ops: list[WriteOp] = [repo.changed(s, after, version)]
    ops += _posting(p, s, action, req, actor)
    ops.append(
        audit.entry(
            p,
            who,
            "settlement",
            sid,
            action,
            before=_summary(s),
            after=_summary(after),
            request_id=who.request_id,
            reason=req.reference,
        )
    )
    try:
        p.store.transact(ops)
    except StaleWrite:
        raise Conflict(
            f"Settlement {sid} changed meanwhile (or was already posted); reload it.", code="SETTLEMENT_CHANGED"
        ) from None
    return after


def _posting(p: Ports, s: Settlement, action: str, req: SettlementAction, actor: str) -> list[WriteOp]:
    if action == "approve":
        return []
    amount = s.closing_balance
    if req.amount is not None and req.amount != amount:
        checks.alert(p, "settlement_amount", f"{s.settlement_id}: {req.amount} received against {amount} due")
        raise BusinessRuleViolation(
            f"The amount {req.amount} is not the {amount} the statement says is due.",
            code="SETTLEMENT_AMOUNT_MISMATCH",
            details={"due": str(amount)},
        )
    event: MoneyEvent = "channel_receipt" if s.party == "channel" else "provider_payment"
    if s.party == "channel":
        lines = journal.channel_receipt_lines(s.party_id, amount)
    else:
        lines = journal.provider_payment_lines(s.party_id, amount)
    e = journals.entry(
        p,
        book=book_of(s.party, s.party_id),
        event=event,
        lines=lines,  # type: ignore[arg-type]
        amount=amount,
        ref=s.settlement_id,
        actor=actor,
        reason=req.reference,
        channel_id=s.party_id if s.party == "channel" else "",
        provider_id=s.party_id if s.party == "provider" else None,
    )
    return journals.post_ops(e, once=ledger_repo.once_key("SETTLE", s.settlement_id))


# ------------------------------------------------------------------ the monthly schedule
def run_all(p: Ports, month: str | None = None) -> dict[str, Any]:
    """Every channel and active provider for ``month`` (last month by default); one failure never stops
    the others, and what failed is listed (the next run or an on-demand run picks it up)."""
    month = month or journal.previous_month(calendar.month_of(p.now()))
    parties = [("channel", c.id) for c in channels.list_channels(p)]
    parties += [("provider", pc.provider_id) for pc in directory.active_providers(p)]
    done, failed = 0, []
    for party, party_id in parties:
        try:
            _run_in_order(p, party, party_id, month)
            done += 1
        except Exception as exc:
            failed.append({"party": party, "party_id": party_id, "error": getattr(exc, "code", type(exc).__name__)})
    return {"month": month, "settled": done, "failed": failed}


def _run_in_order(p: Ports, party: str, party_id: str, month: str, depth: int = 0) -> Settlement:
    """A month whose predecessor (with journals) was never run runs that one first, up to two years back."""
    try:
        return run(p, "system:settlement", party, party_id, month)
    except BusinessRuleViolation as exc:
        if exc.code != "EARLIER_PERIOD_NOT_RUN" or depth >= MAX_CATCH_UP_MONTHS:
            raise
    _run_in_order(p, party, party_id, journal.previous_month(month), depth + 1)
    return run(p, "system:settlement", party, party_id, month)


def dumps(s: Settlement) -> str:
    return json.dumps(_summary(s))
