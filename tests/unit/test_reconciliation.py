"""Nightly reconciliation: clean on a day of real activity; every kind of difference found and alerted."""

from datetime import timedelta
from decimal import Decimal

import pytest

from petcover.config import reset_settings
from petcover.domain import calendar, journal
from petcover.domain.fees import FeeRate
from petcover.models.fulfilment import ShipRequest
from petcover.models.money import FeeSchedulePublish
from petcover.models.policies import CancelRequest, EndorseRequest
from petcover.ports import Update
from petcover.repositories import ledger as ledger_repo
from petcover.services import ledger, policies
from petcover.services.claims import submission
from petcover.services.fulfilment import closing, work_orders
from petcover.services.money import fees, journals, reconciliation
from tests.support.bookings import CLINIC, SHOP, online, setup_world, to_booked
from tests.support.claims import deliver_decisions, rs_claim, rs_policy
from tests.support.money import FINANCE
from tests.support.policies import underwrite_request


def _fulfil(p, clock, number):
    aid = to_booked(p, online(), number)
    work_orders.ship(p, CLINIC, aid, ShipRequest(carrier="SF", tracking_number="SF12345"))
    clock.advance(minutes=30)
    closing.confirm_receipt(p, SHOP, aid)
    return aid


@pytest.fixture
def day(fake_ports, monkeypatch):
    """A business day with issues, an endorsement, a cancellation, a paid claim and two fulfilled orders,
    the first before any fee schedule covered it."""
    monkeypatch.setenv("OPS_CHAT_URL", "http://127.0.0.1:9/chat")
    reset_settings()
    p = fake_ports
    clock, number = setup_world(p)  # 2026-11-22 10:00 Shanghai
    a = policies.underwrite(p, SHOP, underwrite_request("r-1", pet="r1"))
    policies.endorse(p, SHOP, a.number, EndorseRequest(plan_code="plus", reason="more cover"))
    b = policies.underwrite(p, SHOP, underwrite_request("r-2", pet="r2"))
    policies.cancel(p, SHOP, b.number, CancelRequest(reason="bye"))
    rs = rs_policy(p, order="rs-1")
    submission.submit(p, SHOP, rs.number, rs_claim(p))
    assert deliver_decisions(p) == ["paid"]
    gap_order = _fulfil(p, clock, number)
    clock.advance(minutes=5)
    req = FeeSchedulePublish(
        effective_from=calendar.today(clock.now), reason="list", rates=[FeeRate(region="*", fee=Decimal("25.00"))]
    )
    fees.publish(p, FINANCE, "medicine_delivery", req)
    paid_order = _fulfil(p, clock, number)
    d = calendar.today(clock.now)
    clock.set(calendar.start_of(d + timedelta(days=1)) + timedelta(minutes=40))
    p.publisher.drain("alert")
    yield p, clock, d, gap_order, paid_order
    reset_settings()


def test_a_day_of_real_activity_reconciles_clean_with_one_configuration_gap(day):
    p, clock, d, gap_order, _paid_order = day
    out = reconciliation.reconcile(p)
    report = reconciliation.get_report(p, d.isoformat())
    assert report["differences"] == [], report["differences"]
    assert [g["objects"][0] for g in report["configuration_gaps"]] == [gap_order]
    assert report["configuration_gaps"][0]["kind"] == "no_fee_schedule"
    assert report["counts"]["fulfilled_orders"] == 2 and report["counts"]["payouts"] == 1
    assert report["counts"]["debits_cents"] == report["counts"]["credits_cents"] > 0
    assert out["status"] == "differences" and out["gaps"] == 1  # a gap is worth telling ops, once
    assert b"no_fee_schedule" in p.blobs.get_bytes(f"reconciliation/{d.isoformat()}.csv")
    assert len(p.publisher.drain("alert")) == 1
    # the next night does not report the gap again; neither does a later re-run of another day
    clock.advance(days=1)
    again = reconciliation.reconcile(p)
    assert again["status"] == "clean" and again["gaps"] == 0
    assert p.publisher.drain("alert") == []


def test_a_deleted_journal_is_a_policy_difference_and_alerts(day):
    p, _, d, *_ = day
    [issue] = [
        e
        for e in ledger.statement_entries(p, "shop-a", calendar.month_of(calendar.start_of(d)))
        if e.event == "issue" and e.at.date() >= d - timedelta(days=1)
    ][:1]
    p.store.delete(*_key(issue))
    report = reconciliation.reconcile(p, d)
    kinds = {(x["check"], x["kind"]) for x in reconciliation.get_report(p, d.isoformat())["differences"]}
    assert ("policies", "missing_journal") in kinds and ("statistics", "n_differs") in kinds
    assert report["differences"] >= 2
    [msg] = p.publisher.drain("alert")
    assert "policies/missing_journal" in msg["text"]


def test_a_counter_moved_outside_its_transaction_is_a_statistics_difference(day):
    p, _, d, *_ = day
    e = next(
        e for e in ledger.statement_entries(p, "shop-a", calendar.month_of(calendar.start_of(d))) if e.event == "refund"
    )
    [(pk, sk), _] = ledger_repo.stat_keys("shop-a", e.product_code, e.plan_code, d)
    p.store.transact([Update(pk, sk, add={"refunds": 1})])
    diffs = reconciliation.get_report(p, d.isoformat()) if reconciliation.reconcile(p, d) else None
    assert [x["kind"] for x in diffs["differences"]] == ["refunds_differs"]


def test_an_unbalanced_journal_a_double_payout_and_a_double_fee_are_each_listed(day):
    p, clock, d, _, paid_order = day
    clock.set(calendar.start_of(d) + timedelta(hours=20))
    month = calendar.month_of(clock.now)
    payout = next(e for e in ledger.statement_entries(p, "shop-a", month) if e.event == "claim_payout")
    twin = payout.model_copy(update={"id": "twin"})
    p.store.put(ledger_repo.entry_item(twin))
    bad = twin.model_copy(
        update={
            "id": "bad",
            "event": "adjustment",
            "ref": None,
            "lines": [journal.Line(account="cash", debit=Decimal(1))],
        }
    )
    p.store.put(ledger_repo.entry_item(bad))
    fee = journals.entry(
        p,
        book="provider:clinic-a",
        event="provider_fee",
        ref=paid_order,
        lines=journal.provider_fee_lines("clinic-a", Decimal(25)),
        provider_id="clinic-a",
    )
    p.store.transact(journals.post_ops(fee))
    reconciliation.reconcile(p, d)
    kinds = {(x["check"], x["kind"]) for x in reconciliation.get_report(p, d.isoformat())["differences"]}
    assert {
        ("trial_balance", "unbalanced_journal"),
        ("trial_balance", "books_do_not_balance"),
        ("claims", "more_than_one_payout"),
        ("provider_fees", "more_than_one_fee"),
    } <= kinds


def _key(e):
    item = ledger_repo.entry_item(e)
    return item["pk"], item["sk"]


def test_a_claim_paid_without_its_payout_journal_is_listed_and_alerted(day):
    p, _clock, d, _, _ = day
    month = calendar.month_of(calendar.start_of(d))
    payout = next(e for e in ledger.statement_entries(p, "shop-a", month) if e.event == "claim_payout")
    p.store.delete(*_key(payout))  # a payout row removed by hand
    reconciliation.reconcile(p, d)
    report = reconciliation.get_report(p, d.isoformat())
    assert [(x["kind"], x["objects"]) for x in report["differences"] if x["check"] == "claims"] == [
        ("paid_without_payout", [payout.ref])
    ]
    assert report["counts"]["paid_claims"] == 1
    assert any("differences" in str(m) for m in p.publisher.drain("alert"))


def test_a_double_payout_is_listed_once_with_both_journals(day):
    p, _clock, d, _, _ = day
    month = calendar.month_of(calendar.start_of(d))
    payout = next(e for e in ledger.statement_entries(p, "shop-a", month) if e.event == "claim_payout")
    p.store.put(ledger_repo.entry_item(payout.model_copy(update={"id": "twin"})))
    reconciliation.reconcile(p, d)
    claims = [x for x in reconciliation.get_report(p, d.isoformat())["differences"] if x["check"] == "claims"]
    assert [(x["kind"], sorted(x["objects"][1:])) for x in claims] == [
        ("more_than_one_payout", sorted([payout.id, "twin"]))
    ]
