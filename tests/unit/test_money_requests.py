"""Maker-checker for money moved by hand: requested by one, approved by another, posted balanced and
audited; the real-time checks refuse and alert at once."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from petcover.config import reset_settings
from petcover.domain import journal
from petcover.errors import BusinessRuleViolation, Conflict, Forbidden, InvalidInput
from petcover.identity import Principal
from petcover.models.money import MoneyDecision, MoneyRequestCreate
from petcover.repositories import ledger as ledger_repo
from petcover.services import audit, ledger, policies
from petcover.services.money import requests
from tests.support.clock import Clock
from tests.support.fixtures import catalogue
from tests.support.money import FINANCE, FINANCE_2
from tests.support.policies import underwrite_request

SHOP = Principal("channel", "shop-a")
APPROVE = MoneyDecision(decision="approve", note="checked the bank slip")


@pytest.fixture
def p(fake_ports, monkeypatch):
    monkeypatch.setenv("OPS_CHAT_URL", "http://127.0.0.1:9/chat")
    reset_settings()
    fake_ports.clock = Clock(datetime(2026, 11, 10, 2, tzinfo=UTC))
    catalogue(fake_ports, ("shop-a",))
    yield fake_ports
    reset_settings()


def _entries(p):
    return ledger.statement_entries(p, "shop-a", "2026-11")


def test_a_manual_refund_needs_a_second_person_and_posts_once_with_its_audit(p):
    pol = policies.underwrite(p, SHOP, underwrite_request("m-1"))
    req = requests.create(
        p,
        FINANCE,
        MoneyRequestCreate(
            kind="manual_refund", policy_number=pol.number, amount=Decimal("50.00"), reason="refund by bank"
        ),
    )
    assert req.status == "requested" and [r.request_id for r in requests.pending(p)] == [req.request_id]
    assert not [e for e in _entries(p) if e.event == "manual_refund"]  # nothing moves before approval
    with pytest.raises(Forbidden) as same:
        requests.decide(p, FINANCE, req.request_id, APPROVE)
    assert same.value.code == "SAME_PERSON"
    done = requests.decide(p, FINANCE_2, req.request_id, APPROVE)
    assert done.status == "approved" and done.decided_by == "ops:fin-2"
    [refund] = [e for e in _entries(p) if e.event == "manual_refund"]
    assert refund.id == done.journal_id and refund.actor == "ops:fin-2" and refund.reason == "refund by bank"
    assert journal.balances(refund.lines) == {"premium_refunds": Decimal(50), "cash": Decimal(-50)}
    with pytest.raises(Conflict):
        requests.decide(p, FINANCE_2, req.request_id, APPROVE)
    actions = [a.action for a in audit.by_entity(p, "money_request", req.request_id)]
    assert sorted(actions) == ["approve", "request"]


def test_a_refund_above_the_premium_left_is_refused_and_alerts_at_once(p):
    pol = policies.underwrite(p, SHOP, underwrite_request("m-2"))
    with pytest.raises(BusinessRuleViolation) as err:
        requests.create(
            p,
            FINANCE,
            MoneyRequestCreate(
                kind="manual_refund", policy_number=pol.number, amount=pol.premium + Decimal("0.01"), reason="too much"
            ),
        )
    assert err.value.code == "REFUND_ABOVE_PREMIUM"
    assert any("refund_above_premium" in m["text"] for m in p.publisher.drain("alert"))
    # two requests that each fit but not together: the second approval is checked again and refused
    half = (pol.premium / 2 + Decimal("1")).quantize(Decimal("0.01"))
    spec = MoneyRequestCreate(kind="manual_refund", policy_number=pol.number, amount=half, reason="split")
    a, b = requests.create(p, FINANCE, spec), requests.create(p, FINANCE, spec)
    requests.decide(p, FINANCE_2, a.request_id, APPROVE)
    with pytest.raises(BusinessRuleViolation):
        requests.decide(p, FINANCE_2, b.request_id, APPROVE)


def test_a_reversal_is_posted_once_even_when_approved_twice_at_the_same_time(p):
    pol = policies.underwrite(p, SHOP, underwrite_request("m-3"))
    [issue] = [e for e in _entries(p) if e.policy_number == pol.number]
    spec = MoneyRequestCreate(
        kind="reversal", book="shop-a", period="2026-11", journal_id=issue.id, reason="sold twice by mistake"
    )
    reqs = [requests.create(p, FINANCE, spec) for _ in range(4)]
    outcomes: list[str] = []

    def approve(rid: str) -> None:
        try:
            outcomes.append(requests.decide(p, FINANCE_2, rid, APPROVE).status)
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=approve, args=(r.request_id,)) for r in reqs]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert outcomes.count("approved") == 1
    reversals = [e for e in _entries(p) if e.event == "reversal"]
    assert len(reversals) == 1 and reversals[0].reverses == issue.id
    assert all(v == 0 for v in journal.balances(x for e in (issue, *reversals) for x in e.lines).values())
    with pytest.raises(Conflict) as err:
        requests.create(p, FINANCE, spec)
    assert err.value.code == "ALREADY_REVERSED"


def test_a_ledger_adjustment_moves_named_accounts_and_unknown_ones_are_refused(p):
    spec = MoneyRequestCreate(
        kind="ledger_adjustment",
        book="shop-a",
        amount=Decimal("12.34"),
        debit_account="channel_receivable:shop-a",
        credit_account="premium_income",
        reason="rounding agreed with the channel",
    )
    done = requests.decide(p, FINANCE_2, requests.create(p, FINANCE, spec).request_id, APPROVE)
    [adj] = [e for e in _entries(p) if e.id == done.journal_id]
    assert journal.totals(adj.lines) == (Decimal("12.34"), Decimal("12.34"))
    bad = spec.model_copy(update={"debit_account": "petty_cash"})
    with pytest.raises(InvalidInput) as err:
        requests.create(p, FINANCE, bad)
    assert err.value.code == "UNKNOWN_ACCOUNT"
    with pytest.raises(ValidationError, match="a manual_refund needs policy_number"):
        MoneyRequestCreate(kind="manual_refund", reason="no policy given", amount=Decimal(1))
    with pytest.raises(ValidationError, match="cannot be zero"):
        MoneyRequestCreate(kind="manual_refund", reason="nothing", amount=Decimal(0), policy_number="P1")


def test_a_rejected_request_posts_nothing(p):
    pol = policies.underwrite(p, SHOP, underwrite_request("m-4"))
    req = requests.create(
        p,
        FINANCE,
        MoneyRequestCreate(kind="manual_refund", policy_number=pol.number, amount=Decimal(5), reason="asked by phone"),
    )
    out = requests.decide(p, FINANCE_2, req.request_id, MoneyDecision(decision="reject", note="no evidence"))
    assert out.status == "rejected" and out.journal_id is None
    assert not [e for e in _entries(p) if e.event == "manual_refund"]
    assert ledger_repo.find_mark(p.store, ledger_repo.once_key("REQUEST", req.request_id)) is None


def test_a_cancellation_refund_above_the_premium_is_refused_and_alerts(p, monkeypatch):
    from petcover.domain import refund
    from petcover.errors import BusinessRuleViolation as Refused
    from petcover.models.policies import CancelRequest

    pol = policies.underwrite(p, SHOP, underwrite_request("m-5"))
    monkeypatch.setattr(refund, "refund_amount", lambda *a, **k: pol.premium + 1)  # a broken refund rule
    with pytest.raises(Refused) as err:
        policies.cancel(p, SHOP, pol.number, CancelRequest(reason="bye"))
    assert err.value.code == "REFUND_ABOVE_PREMIUM"
    assert policies.get_for(p, SHOP, pol.number).status == "active"
    assert any("refund_above_premium" in m["text"] for m in p.publisher.drain("alert"))
