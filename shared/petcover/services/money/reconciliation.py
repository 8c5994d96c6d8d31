"""Nightly financial reconciliation of one business day (shortly after midnight Asia/Shanghai).

Checks, each difference listed with the objects involved:
- trial balance: every journal posted that day balances, and so do they all together;
- policies: every policy version of the day (issue, endorsement, cancellation) has its journal with
  the same amount, and every premium or refund journal of the day has its version;
- claims: every payout journal of the day belongs to a paid claim with that paid amount, every claim
  paid that day has exactly one payout (none: paid without payout; more: double payout; reversals
  aside);
- statistics: the day's counters per channel, product and plan equal the sums of its journals;
- provider fees: every order fulfilled that day has exactly one fee; an order that no fee schedule
  covers is a configuration gap, reported once ("no fee schedule"), never again as a missing fee.
The report (JSON and CSV) goes to the document bucket, its summary to the table; any difference
alerts the ops chat.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from typing import Any

from petcover.domain import calendar, exports, journal
from petcover.domain.fees import fee_for, version_on
from petcover.domain.money import LedgerEntry, cents
from petcover.errors import NotFound, StaleWrite
from petcover.ports import Ports
from petcover.repositories import claims as claims_repo
from petcover.repositories import fees as fees_repo
from petcover.repositories import ledger as ledger_repo
from petcover.repositories import policies as policy_repo
from petcover.repositories import settlements as repo
from petcover.repositories import timeline as timeline_repo
from petcover.repositories.base import paginate
from petcover.services import alerts, channels
from petcover.services.fulfilment import ownership
from petcover.services.partners import directory

LOOKBACK_MONTHS = 4  # a journal of the day may land in a past open month (a sale reported late)
VERSION_EVENTS = {"issue": ("issue", "renew"), "endorse": ("endorse",), "cancel": ("refund",)}
POLICY_EVENTS = ("issue", "renew", "endorse", "refund")
CSV_COLUMNS = ("check", "kind", "objects", "detail")


class Report:
    def __init__(self, day: date) -> None:
        self.day = day
        self.differences: list[dict[str, Any]] = []
        self.gaps: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()

    def diff(self, check: str, kind: str, objects: list[str], detail: str) -> None:
        self.differences.append({"check": check, "kind": kind, "objects": objects, "detail": detail})


def reconcile(p: Ports, day: date | None = None) -> dict[str, Any]:
    day = day or calendar.yesterday(p.now())
    r = Report(day)
    completed = _completed_orders(p, day)
    entries = _entries_of_day(p, day, {f"provider:{provider}" for _, provider in completed})
    r.counts["journals"] = len(entries)
    _trial_balance(r, entries)
    _policies(p, r, entries)
    _claims(p, r, entries)
    _statistics(p, r, entries)
    _fees(p, r, entries, completed)
    return _publish(p, r)


def _books(p: Ports, more: set[str]) -> list[str]:
    """Every channel, every active provider and every provider that fulfilled an order that day."""
    books = [c.id for c in channels.list_channels(p)]
    books += [f"provider:{pc.provider_id}" for pc in directory.active_providers(p)]
    return [*sorted(set(books) | more), "platform"]


def _completed_orders(p: Ports, day: date) -> list[tuple[str, str]]:
    """(order, provider) of the work orders completed that business day (the timeline's day index)."""
    out = []
    for item in paginate(p.store, timeline_repo.nodes_day_pk(day.isoformat()), index="gsi2", limit=500):
        data = json.loads(item["data"])
        if data.get("node") == "completed":
            out.append((data["order_id"], data["provider_id"]))
    return out


def _entries_of_day(p: Ports, day: date, more_books: set[str]) -> list[LedgerEntry]:
    # Journals are keyed by their UTC instant, so the day's bounds are compared in UTC too.
    start_at, end_at = calendar.start_of(day), calendar.end_of(day)
    start, end = start_at.astimezone(UTC).isoformat(), end_at.astimezone(UTC).isoformat()
    months = [calendar.month_of(start_at)]
    for _ in range(LOOKBACK_MONTHS - 1):
        months.append(journal.previous_month(months[-1]))
    out: list[LedgerEntry] = []
    for book in _books(p, more_books):
        for month in months:
            out += [e for e in ledger_repo.entries_between(p.store, book, month, start, end) if e.at < end_at]
    return out


def _trial_balance(r: Report, entries: list[LedgerEntry]) -> None:
    for e in entries:
        d, c = journal.totals(e.lines)
        if d != c:
            r.diff("trial_balance", "unbalanced_journal", [e.id, e.book], f"debits {d} credits {c}")
    d, c = journal.totals(x for e in entries for x in e.lines)
    r.counts["debits_cents"], r.counts["credits_cents"] = cents(d), cents(c)
    if d != c:
        r.diff("trial_balance", "books_do_not_balance", [], f"debits {d} credits {c}")


def _policies(p: Ports, r: Report, entries: list[LedgerEntry]) -> None:
    by_key: dict[tuple[str, str], list[LedgerEntry]] = defaultdict(list)
    for e in entries:
        if e.event in POLICY_EVENTS:
            by_key[(e.policy_number, e.event)].append(e)
    matched: set[str] = set()
    for number, v in policy_repo.versions_of_day(p.store, r.day.isoformat()):
        r.counts["policy_versions"] += 1
        events = VERSION_EVENTS.get(v.action)
        if events is None:
            continue
        found = [e for ev in events for e in by_key.get((number, ev), []) if e.id not in matched]
        hit = next((e for e in found if e.amount == v.premium_change), None)
        if hit is None:
            r.diff("policies", "missing_journal", [number, f"v{v.version}"], f"{v.action} {v.premium_change}")
            continue
        matched.add(hit.id)
    for e in entries:
        if e.event in POLICY_EVENTS and e.id not in matched:
            r.diff("policies", "journal_without_version", [e.policy_number, e.id], f"{e.event} {e.amount}")


def _claims(p: Ports, r: Report, entries: list[LedgerEntry]) -> None:
    seen: set[str] = set()
    for e in entries:
        if e.event != "claim_payout" or not e.ref:
            continue
        r.counts["payouts"] += 1
        item = p.store.get(*claims_repo.claim_key(e.ref), consistent=False)
        claim = claims_repo.claim_from_item(item) if item else None
        if claim is None or claim.paid_amount is None:
            r.diff("claims", "payout_without_paid_claim", [e.ref, e.id], f"payout {-e.amount}")
        elif claim.paid_amount != -e.amount:
            r.diff("claims", "payout_amount_differs", [e.ref, e.id], f"claim {claim.paid_amount} ledger {-e.amount}")
        all_of_claim = ledger_repo.entries_of_ref(p.store, e.ref)
        undone = {x.reverses for x in all_of_claim if x.reverses}
        live = [x for x in all_of_claim if x.event == "claim_payout" and x.id not in undone]
        if len(live) > 1 and e.ref not in seen:
            r.diff("claims", "more_than_one_payout", [e.ref, *[x.id for x in live]], f"{len(live)} payouts")
        seen.add(e.ref)
    _paid_claims(p, r, seen)


def _paid_claims(p: Ports, r: Report, seen: set[str]) -> None:
    """Every claim paid that day has a live payout journal (its payouts of the day were checked above)."""
    for claim in claims_repo.paid_on(p.store, r.day.isoformat()):
        r.counts["paid_claims"] += 1
        if claim.claim_number in seen:
            continue
        all_of_claim = ledger_repo.entries_of_ref(p.store, claim.claim_number)
        undone = {x.reverses for x in all_of_claim if x.reverses}
        live = [x for x in all_of_claim if x.event == "claim_payout" and x.id not in undone]
        if not live:
            r.diff("claims", "paid_without_payout", [claim.claim_number], f"paid {claim.paid_amount}, no payout")
        elif len(live) > 1:
            r.diff(
                "claims", "more_than_one_payout", [claim.claim_number, *[x.id for x in live]], f"{len(live)} payouts"
            )


def _statistics(p: Ports, r: Report, entries: list[LedgerEntry]) -> None:
    sums: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for e in entries:
        if e.event not in (*POLICY_EVENTS, "claim_payout"):
            continue
        c = sums[(e.channel_id, e.product_code, e.plan_code)]
        if e.event in ("issue", "renew"):
            c["n"] += 1
        if e.event in ("issue", "renew", "endorse"):
            c["premium"] += cents(e.amount)
        elif e.event == "refund":
            c["refunds"] += -cents(e.amount)
        else:
            c["claim_amount"] += -cents(e.amount)
    day = r.day.isoformat()
    for (ch, product, plan), want in sums.items():
        rows = ledger_repo.stat_rows(p.store, ch, product, plan, "day", day, day)
        have = rows[0] if rows else None
        got = {
            "n": have.policies if have else 0,
            "premium": cents(have.premium) if have else 0,
            "refunds": cents(have.refunds) if have else 0,
            "claim_amount": cents(have.claim_amount) if have else 0,
        }
        for k in ("n", "premium", "refunds", "claim_amount"):
            if got[k] != want[k]:
                r.diff("statistics", f"{k}_differs", [ch, product, plan, day], f"counter {got[k]} ledger {want[k]}")


def _fees(p: Ports, r: Report, entries: list[LedgerEntry], completed: list[tuple[str, str]]) -> None:
    fees_by_order = Counter(e.ref for e in entries if e.event == "provider_fee")
    for order, _ in completed:
        r.counts["fulfilled_orders"] += 1
        if fees_by_order.get(order) or ledger_repo.find_mark(p.store, ledger_repo.once_key("FEE", order)):
            continue
        _missing_fee(p, r, order)
    for ref, n in fees_by_order.items():
        if n > 1:
            r.diff("provider_fees", "more_than_one_fee", [str(ref)], f"{n} fees")


def _missing_fee(p: Ports, r: Report, order: str) -> None:
    try:
        doc = ownership.load(p, order)
    except NotFound:
        r.diff("provider_fees", "fulfilled_order_not_found", [order], "")
        return
    at = doc.fulfilled_at or doc.updated_at
    schedule = fees_repo.get_schedule(p.store, doc.service_type)
    fee = fee_for(
        version_on(schedule, calendar.day_of(at), at), doc.address.province, doc.address.city, doc.address.district
    )
    if fee is not None and fee > 0:
        r.diff("provider_fees", "missing_fee", [order, doc.provider_id or ""], f"expected {fee}")
        return
    try:  # a configuration gap: reported by the first night that found it, never again
        p.store.put(fees_repo.gap_item(order, r.day.isoformat()), if_absent=True)
    except StaleWrite:
        if fees_repo.gap_reported_on(p.store, order) != r.day.isoformat():
            return
    r.gaps.append(
        {
            "check": "provider_fees",
            "kind": "no_fee_schedule",
            "objects": [order, doc.provider_id or ""],
            "detail": f"{doc.service_type} in {doc.address.district or doc.address.city}",
        }
    )


def _publish(p: Ports, r: Report) -> dict[str, Any]:
    day = r.day.isoformat()
    rows = [*r.differences, *r.gaps]
    status = "clean" if not rows else "differences"
    summary: dict[str, Any] = {
        "day": day,
        "status": status,
        "run_at": p.now().isoformat(),
        "counts": dict(r.counts),
        "differences": r.differences,
        "configuration_gaps": r.gaps,
        "files": {"json": repo.report_file(day, "json"), "csv": repo.report_file(day, "csv")},
    }
    if p.blobs is not None:
        p.blobs.put_bytes(
            repo.report_file(day, "json"),
            json.dumps(summary, ensure_ascii=False, indent=1).encode(),
            "application/json",
        )
        csv_rows = [[d["check"], d["kind"], " ".join(d["objects"]), d["detail"]] for d in rows]
        p.blobs.put_bytes(
            repo.report_file(day, "csv"), exports.to_csv(CSV_COLUMNS, csv_rows).encode("utf-8-sig"), "text/csv"
        )
    p.store.put(repo.report_item(day, summary))
    if rows:
        kinds = ", ".join(sorted({f"{d['check']}/{d['kind']}" for d in rows}))
        alerts.raise_alert(
            p,
            target=None,
            dedupe_key=f"recon:{day}:{len(rows)}",
            title=f"资金对账 {day} 有差异 / differences",
            text=f"资金对账 {day}：{len(r.differences)} 处差异，{len(r.gaps)} 个配置缺口（{kinds}）。"
            f"\nReconciliation {day}: {len(r.differences)} differences, {len(r.gaps)} configuration gaps.",
        )
    return {
        "day": day,
        "status": status,
        "differences": len(r.differences),
        "gaps": len(r.gaps),
        "journals": r.counts["journals"],
    }


def get_report(p: Ports, day: str) -> dict[str, Any]:
    try:
        date.fromisoformat(day)
    except ValueError:
        raise NotFound(f"No reconciliation report for {day}.", code="REPORT_NOT_FOUND") from None
    found = repo.get_report(p.store, day)
    if found is None:
        raise NotFound(f"No reconciliation report for {day}.", code="REPORT_NOT_FOUND")
    return found


def day_from_event(event: dict[str, Any], now: datetime) -> date:
    value = event.get("date") if isinstance(event, dict) else None
    return date.fromisoformat(value) if isinstance(value, str) else calendar.yesterday(now)
