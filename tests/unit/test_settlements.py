"""Channel and provider settlement runs: statements, files, locks, receipt and payment once."""

import base64
import io
import json
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from petcover.domain import journal
from petcover.errors import BusinessRuleViolation, Conflict, Forbidden, IllegalTransition
from petcover.identity import Principal
from petcover.models.money import SettlementAction
from petcover.models.policies import CancelRequest
from petcover.repositories import ledger as ledger_repo
from petcover.repositories import quality as quality_repo
from petcover.services import ledger, policies
from petcover.services.money import journals, settlements
from petcover.services.quality import assessment
from tests.support.clock import Clock
from tests.support.fixtures import catalogue
from tests.support.policies import underwrite_request

SHOP = Principal("channel", "shop-a")
FIN1 = Principal("ops", "fin-1", ("finance",))
FIN2 = Principal("ops", "fin-2", ("finance",))
NOV = datetime(2026, 11, 10, 2, tzinfo=UTC)
DEC = datetime(2026, 12, 2, 2, tzinfo=UTC)


@pytest.fixture
def world(fake_ports, monkeypatch):
    monkeypatch.setenv("OPS_CHAT_URL", "http://127.0.0.1:9/chat")
    from petcover.config import reset_settings

    reset_settings()
    p = fake_ports
    clock = Clock(datetime(2026, 10, 1, tzinfo=UTC))
    p.clock = clock
    catalogue(p, ("shop-a",))
    clock.set(NOV)
    a = policies.underwrite(p, SHOP, underwrite_request("n-1", pet="p1"))
    b = policies.underwrite(p, SHOP, underwrite_request("n-2", pet="p2"))
    clock.advance(days=5)
    refund = policies.cancel(p, SHOP, b.number, CancelRequest(reason="changed mind")).refund
    clock.set(DEC)
    yield p, clock, (a, b, refund)
    reset_settings()


def test_a_channel_statement_adds_up_and_locks_its_month(world):
    p, _clock, (a, b, refund) = world
    s = settlements.run(p, "ops:fin-1", "channel", "shop-a", "2026-11")
    assert s.receivables == a.premium + b.premium
    assert s.refunds == refund

    def pct(x: Decimal) -> Decimal:
        return (x * Decimal("0.1")).quantize(Decimal("0.01"))  # per event, per the contract (10 %)

    assert s.commission == pct(a.premium) + pct(b.premium) - pct(refund)
    assert s.net_due == s.receivables - s.refunds - s.commission
    assert s.opening_balance == 0 and s.closing_balance == s.net_due and s.status == "issued"
    lines = json.loads(settlements.file(p, s.settlement_id, "json").content)["lines"]
    assert [ln["time_basis"] for ln in lines] == ["issue_time", "issue_time", "cancellation_time"]
    assert ledger_repo.locked_through(p.store, "shop-a") == "2026-11"
    # the same run again is the same statement
    assert settlements.run(p, "ops:fin-2", "channel", "shop-a", "2026-11").created_by == "ops:fin-1"
    # files: JSON, CSV, XLSX
    csv_text = settlements.file(p, s.settlement_id, "csv").content
    assert "closing_balance" in csv_text and "cancellation_time" in csv_text
    xlsx = settlements.file(p, s.settlement_id, "xlsx")
    wb = load_workbook(io.BytesIO(base64.b64decode(xlsx.content)))
    assert wb.sheetnames == ["summary", "lines"] and wb["lines"].max_row == 4
    summary = {r[0]: r[1] for r in wb["summary"].iter_rows(values_only=True)}
    assert Decimal(str(summary["net_due"])) == s.net_due


def test_a_late_sale_into_the_settled_month_is_issued_and_carried_to_the_next_statement(world):
    p, clock, (_a, _b, _refund) = world
    nov = settlements.run(p, "ops:fin-1", "channel", "shop-a", "2026-11")
    late = policies.underwrite(p, SHOP, underwrite_request("n-3", pet="p3", sold_at=datetime(2026, 11, 20, tzinfo=UTC)))
    assert late.status == "active"
    settlements.act(p, FIN1, nov.settlement_id, "confirm-receipt", SettlementAction(reference="bank-1"))
    clock.set(datetime(2027, 1, 2, 2, tzinfo=UTC))
    dec = settlements.run(p, "ops:fin-1", "channel", "shop-a", "2026-12")
    late_net = late.premium - (late.premium * Decimal("0.1")).quantize(Decimal("0.01"))
    assert dec.opening_balance == nov.closing_balance
    assert dec.adjustments == late_net and dec.payments == nov.closing_balance
    assert dec.closing_balance == late_net
    [line] = [
        ln for ln in json.loads(settlements.file(p, dec.settlement_id, "json").content)["lines"] if ln["adjustment"]
    ]
    assert "2026-11" in line["note"] and line["time_basis"] == "issue_time"


def test_receipt_posts_once_even_when_confirmed_twice_at_the_same_time(world):
    p, _clock, _ = world
    s = settlements.run(p, "ops:fin-1", "channel", "shop-a", "2026-11")
    results: list[object] = []

    def confirm() -> None:
        try:
            results.append(settlements.act(p, FIN1, s.settlement_id, "confirm-receipt", SettlementAction()).status)
        except Conflict as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=confirm) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results.count("settled") == 1
    receipts = [e for e in ledger.statement_entries(p, "shop-a", "2026-12") if e.event == "channel_receipt"]
    assert len(receipts) == 1 and receipts[0].amount == s.closing_balance
    with pytest.raises(IllegalTransition):
        settlements.act(p, FIN2, s.settlement_id, "confirm-receipt", SettlementAction())


def test_a_receipt_of_the_wrong_amount_is_refused_and_alerts_ops(world):
    p, _, _ = world
    s = settlements.run(p, "ops:fin-1", "channel", "shop-a", "2026-11")
    with pytest.raises(BusinessRuleViolation) as err:
        settlements.act(p, FIN1, s.settlement_id, "confirm-receipt", SettlementAction(amount=s.closing_balance + 1))
    assert err.value.code == "SETTLEMENT_AMOUNT_MISMATCH"
    assert any("settlement_amount" in m["text"] for m in p.publisher.drain("alert"))


def test_a_run_killed_midway_is_run_again_without_double_posting(world, monkeypatch):
    p, _, _ = world
    real = p.blobs.put_bytes

    def crash_on_xlsx(key, body, content_type):
        if key.endswith(".xlsx"):
            raise SystemExit("killed")
        real(key, body, content_type)

    monkeypatch.setattr(p.blobs, "put_bytes", crash_on_xlsx)
    with pytest.raises(SystemExit):
        settlements.run(p, "system:settlement", "channel", "shop-a", "2026-11")
    assert ledger_repo.locked_through(p.store, "shop-a") == "2026-11"  # locked, no statement yet
    monkeypatch.setattr(p.blobs, "put_bytes", real)
    again = settlements.run(p, "system:settlement", "channel", "shop-a", "2026-11")
    assert settlements.run(p, "system:settlement", "channel", "shop-a", "2026-11") == again
    settlements.act(p, FIN1, again.settlement_id, "confirm-receipt", SettlementAction())
    entries = [e for m in ("2026-11", "2026-12") for e in ledger.statement_entries(p, "shop-a", m)]
    assert sum(e.event == "channel_receipt" for e in entries) == 1
    debit, credit = journal.totals(x for e in entries for x in e.lines)
    assert debit == credit


def test_runs_follow_each_other_and_only_for_ended_months(world):
    p, clock, _ = world
    with pytest.raises(BusinessRuleViolation) as early:
        settlements.run(p, "ops:fin-1", "channel", "shop-a", "2026-12")
    assert early.value.code == "PERIOD_NOT_ENDED"
    clock.set(datetime(2027, 1, 5, tzinfo=UTC))
    policies.underwrite(p, SHOP, underwrite_request("d-1", pet="p9", sold_at=datetime(2026, 12, 20, tzinfo=UTC)))
    with pytest.raises(BusinessRuleViolation) as gap:
        settlements.run(p, "ops:fin-1", "channel", "shop-a", "2026-12")
    assert gap.value.code == "EARLIER_PERIOD_NOT_RUN"


def _fees(p, clock, provider: str, fees: tuple[tuple[str, str], ...]) -> None:
    clock.set(NOV)
    for ref, fee in fees:
        e = journals.entry(
            p,
            book=f"provider:{provider}",
            event="provider_fee",
            amount=Decimal(fee),
            lines=journal.provider_fee_lines(provider, Decimal(fee)),
            ref=ref,
            provider_id=provider,
        )
        journals.post(p, e, once=ledger_repo.once_key("FEE", ref))
    clock.set(DEC)


def _assess(p, month: str, penalised: tuple[str, ...] = ()) -> None:
    """The month's quality assessment; each penalised provider had 12 orders, all breached (grade D)."""
    for provider in penalised:
        p.store.transact(
            [
                quality_repo.counter_op(provider, month, "orders", 12),
                quality_repo.counter_op(provider, month, "breaches", 12),
            ]
        )
    assessment.run(p, month)


def test_a_provider_statement_is_approved_by_another_person_then_paid_once(world):
    p, clock, _ = world
    _fees(p, clock, "clinic-a", (("A1", "50.00"), ("A2", "30.00")))
    _assess(p, "2026-11")
    s = settlements.run(p, "ops:fin-1", "provider", "clinic-a", "2026-11")
    assert (s.fees, s.net_due, s.closing_balance) == (Decimal(80), Decimal(80), Decimal(80))
    with pytest.raises(IllegalTransition):
        settlements.act(p, FIN2, s.settlement_id, "mark-paid", SettlementAction())
    with pytest.raises(Forbidden):
        settlements.act(p, FIN1, s.settlement_id, "approve", SettlementAction())
    settlements.act(p, FIN2, s.settlement_id, "approve", SettlementAction())
    paid = settlements.act(p, FIN1, s.settlement_id, "mark-paid", SettlementAction(reference="wire-9"))
    assert paid.status == "paid" and [d["action"] for d in paid.decided] == ["approve", "mark-paid"]
    entries = list(ledger_repo.month_entries(p.store, "provider:clinic-a", "2026-12"))
    assert [(e.event, e.amount) for e in entries] == [("provider_payment", Decimal(80))]
    payable = journal.balances(
        x
        for m in ("2026-11", "2026-12")
        for e in ledger_repo.month_entries(p.store, "provider:clinic-a", m)
        for x in e.lines
    )
    assert payable["provider_payable:clinic-a"] == 0


def test_a_penalty_grade_deducts_from_the_provider_statement_once(world):
    p, clock, _ = world
    _fees(p, clock, "clinic-b", (("B1", "100.00"), ("B2", "33.33")))
    with pytest.raises(BusinessRuleViolation) as refused:  # the assessment comes first
        settlements.run(p, "ops:fin-1", "provider", "clinic-b", "2026-11")
    assert refused.value.code == "QUALITY_NOT_ASSESSED"
    _assess(p, "2026-11", penalised=("clinic-b",))
    s = settlements.run(p, "ops:fin-1", "provider", "clinic-b", "2026-11")
    assert (s.fees, s.deductions, s.net_due) == (Decimal("133.33"), Decimal("6.67"), Decimal("126.66"))
    again = settlements.run(p, "ops:fin-2", "provider", "clinic-b", "2026-11")
    assert again.deductions == Decimal("6.67")
    entries = list(ledger_repo.month_entries(p.store, "provider:clinic-b", "2026-11"))
    assert sorted(e.event for e in entries) == ["provider_deduction", "provider_fee", "provider_fee"]
    csv_text = settlements.file(p, s.settlement_id, "csv").content
    assert "B1" in csv_text and "B2" in csv_text and "quality:2026-11" in csv_text and "-6.67" in csv_text
    assert "等级 D" in csv_text


def test_a_good_grade_or_no_fees_deducts_nothing(world):
    p, clock, _ = world
    _fees(p, clock, "clinic-c", (("C1", "40.00"),))
    _assess(p, "2026-11")  # clinic-c has no counters: not graded
    s = settlements.run(p, "ops:fin-1", "provider", "clinic-c", "2026-11")
    assert (s.fees, s.deductions) == (Decimal(40), Decimal(0))
    empty = settlements.run(p, "ops:fin-1", "provider", "clinic-d", "2026-11")  # nothing earned, nothing waits
    assert empty.net_due == 0


def test_the_monthly_schedule_runs_every_channel_and_reports_failures(world):
    p, _, _ = world
    out = settlements.run_all(p)
    assert out["month"] == "2026-11" and out["settled"] == 1 and out["failed"] == []
    assert settlements.run_all(p)["settled"] == 1  # idempotent


def test_the_schedule_runs_an_earlier_month_never_run_first(world):
    p, clock, _ = world
    clock.set(datetime(2027, 1, 3, 2, tzinfo=UTC))
    policies.underwrite(p, SHOP, underwrite_request("d-2", pet="p8", sold_at=datetime(2026, 12, 20, tzinfo=UTC)))
    out = settlements.run_all(p)
    assert out["month"] == "2026-12" and out["failed"] == [] and out["settled"] == 1
    nov = settlements.get(p, "channel.shop-a.2026-11")[0]
    dec = settlements.get(p, "channel.shop-a.2026-12")[0]
    assert dec.opening_balance == nov.closing_balance and dec.created_by == nov.created_by == "system:settlement"


def test_the_settlement_schedule_runs_after_the_monthly_quality_assessment():
    from infra import template

    def minutes(function: str) -> tuple[int, str | None]:
        s = next(x for x in template.schedules() if x.function == function)
        minute, hour, *_ = s.expression.removeprefix("cron(").split()
        return int(hour) * 60 + int(minute), s.timezone

    settle, assess = minutes("SettleMonthlyFunction"), minutes("QualityAssessFunction")
    assert settle[1] == assess[1] and settle[0] > assess[0]
