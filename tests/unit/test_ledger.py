"""Double-entry ledger: every journal balances, reversals undo, late events land in the next open period."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petcover import runtime
from petcover.domain import calendar, journal, money
from petcover.errors import BusinessRuleViolation, Conflict
from petcover.identity import Principal
from petcover.messaging import MemoryPublisher
from petcover.models.policies import CancelRequest, EndorseRequest
from petcover.ports import Ports
from petcover.repositories import ledger as ledger_repo
from petcover.services import catalog, ledger, policies
from petcover.services.money import journals
from petcover.storage.memory import MemorySecretBox, MemoryStore
from tests.support.clock import Clock
from tests.support.fixtures import catalogue
from tests.support.policies import underwrite_request as _req

SHOP_A = Principal("channel", "shop-a")
amounts = st.decimals(min_value=Decimal("-5000"), max_value=Decimal("5000"), places=2)
events = st.sampled_from(["issue", "renew", "endorse", "refund", "claim_payout"])


@given(st.lists(st.tuples(events, amounts, st.decimals(min_value=0, max_value=40, places=1)), max_size=40))
def test_every_channel_journal_balances_and_the_books_sum_to_zero(rows):
    lines = []
    for i, (event, amount, pct) in enumerate(rows):
        e = money.ledger_entry(
            str(i),
            datetime(2026, 11, 3, tzinfo=UTC),
            channel_id="shop-a",
            product_code="p",
            plan_code="x",
            policy_number="PC1",
            event=event,
            amount=amount,
            commission_pct=pct,
        )
        debit, credit = journal.totals(e.lines)
        assert debit == credit
        assert all(x.debit >= 0 and x.credit >= 0 for x in e.lines)
        lines += e.lines
    debit, credit = journal.totals(lines)
    assert debit == credit
    assert sum(journal.balances(lines).values(), Decimal(0)) == 0


@given(st.lists(amounts, min_size=1, max_size=20))
def test_a_reversal_brings_every_account_back_to_zero(values):
    lines = [x for v in values for x in journal.provider_fee_lines("P1", v)]
    undone = lines + journal.reversed_lines(lines)
    assert all(v == 0 for v in journal.balances(undone).values())


def test_an_unbalanced_journal_is_refused():
    with pytest.raises(BusinessRuleViolation) as err:
        journal.assert_balanced([journal.Line(account="cash", debit=Decimal("1.00"))])
    assert err.value.code == "UNBALANCED_JOURNAL"


def test_the_receivable_of_an_issue_is_net_of_commission():
    e = money.ledger_entry(
        "1",
        datetime(2026, 11, 3, tzinfo=UTC),
        channel_id="shop-a",
        product_code="p",
        plan_code="x",
        policy_number="PC1",
        event="issue",
        amount=Decimal("100.00"),
        commission_pct=Decimal(10),
    )
    assert journal.balances(e.lines) == {
        "channel_receivable:shop-a": Decimal("90.00"),
        "premium_income": Decimal("-100.00"),
        "commission_expense": Decimal("10.00"),
    }
    assert e.time_basis == "issue_time" and e.period == "2026-11"


def _fresh_ports(clock: Clock) -> Ports:
    p = Ports(store=MemoryStore(), publisher=MemoryPublisher(), clock=clock, secrets=MemorySecretBox())
    runtime.install(p)
    catalog.clear_caches()
    catalogue(p, ("shop-a",))
    return p


def _all_lines(p: Ports, month: str) -> list[journal.Line]:
    return [x for e in ledger.statement_entries(p, "shop-a", month) for x in e.lines]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["issue", "endorse", "cancel"]), min_size=1, max_size=12))
def test_policy_activity_keeps_the_trial_balance_at_zero(actions):
    clock = Clock(datetime(2026, 11, 10, 2, tzinfo=UTC))
    p = _fresh_ports(clock)
    live: list[str] = []
    for i, action in enumerate(actions):
        if action == "issue" or not live:
            live.append(policies.underwrite(p, SHOP_A, _req(f"o-{i}", pet=f"pet-{i}")).number)
        elif action == "endorse":
            pol = policies.get_for(p, SHOP_A, live[-1])
            plan = "plus" if pol.plan_code == "basic" else "basic"
            policies.endorse(p, SHOP_A, live[-1], EndorseRequest(plan_code=plan, reason="change"))
        else:
            policies.cancel(p, SHOP_A, live.pop(), CancelRequest(reason="bye"))
        clock.advance(hours=1)
    debit, credit = journal.totals(_all_lines(p, "2026-11"))
    assert debit == credit and debit > 0
    runtime.install(None)


def test_a_journal_is_immutable_and_reversed_once_with_reason_and_actor(fake_ports):
    p = fake_ports
    p.clock = Clock(datetime(2026, 11, 10, 2, tzinfo=UTC))
    e = journals.entry(p, book="provider:P1", event="provider_fee", lines=journal.provider_fee_lines("P1", Decimal(80)))
    journals.post(p, e, once="FEE#A1")
    with pytest.raises(Conflict) as again:
        journals.post(p, e.model_copy(update={"id": "other"}), once="FEE#A1")
    assert again.value.code == "ALREADY_POSTED"
    with pytest.raises(Conflict):  # the same journal cannot be written over
        p.store.transact(journals.post_ops(e))
    undo, key = journals.reversal(p, e, reason="wrong clinic", actor="fin-1")
    journals.post(p, undo, once=key)
    with pytest.raises(Conflict):
        journals.post(p, journals.reversal(p, e, reason="again", actor="fin-2")[0], once=key)
    books = list(ledger_repo.month_entries(p.store, "provider:P1", "2026-11"))
    assert len(books) == 2 and sum(journal.balances(x for b in books for x in b.lines).values(), Decimal(0)) == 0
    assert all(v == 0 for v in journal.balances(x for b in books for x in b.lines).values())
    [rev] = [b for b in books if b.event == "reversal"]
    assert (rev.reverses, rev.reason, rev.actor) == (e.id, "wrong clinic", "fin-1")


def test_a_sale_back_dated_into_a_settled_month_is_issued_into_the_next_open_period(fake_ports):
    p = fake_ports
    p.clock = Clock(datetime(2026, 12, 3, 2, tzinfo=UTC))
    catalogue(p, ("shop-a",))
    p.store.transact([ledger_repo.lock_through("shop-a", "2026-11")])
    sold = datetime(2026, 11, 28, 4, tzinfo=UTC)
    req = _req("late-1", sold_at=sold)
    pol = policies.underwrite(p, SHOP_A, req)
    assert pol.status == "active"
    assert not list(ledger_repo.month_entries(p.store, "shop-a", "2026-11"))
    [e] = ledger.statement_entries(p, "shop-a", "2026-12")
    assert (e.period, e.basis_period, e.adjustment, e.time_basis) == ("2026-12", "2026-11", True, "issue_time")
    assert e.basis_at == sold and "2026-11" in (e.note or "")
    # an open past month takes its own late sale
    older = _req("late-2", pet="pet-2", sold_at=sold)
    p.store.delete(*ledger_repo.lock_key("shop-a"))
    policies.underwrite(p, SHOP_A, older)
    [e2] = ledger.statement_entries(p, "shop-a", "2026-11")
    assert not e2.adjustment and e2.period == "2026-11"


def test_a_period_locked_while_the_event_was_in_flight_refuses_the_write(fake_ports):
    """The journal's transaction checks its period is still open: nothing lands in a settled month."""
    p = fake_ports
    p.clock = Clock(datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC))  # 23:59:59 in Shanghai
    catalogue(p, ("shop-a",))
    ops = ledger.money_ops(
        p,
        channel_id="shop-a",
        product_code="pet-health",
        plan_code="basic",
        policy_number="PC9",
        event="issue",
        amount=Decimal(10),
        commission_pct=Decimal(0),
        counters={},
    )
    p.store.transact([ledger_repo.lock_through("shop-a", "2026-11")])
    with pytest.raises(Conflict):
        p.store.transact(ops)
    assert not list(ledger_repo.month_entries(p.store, "shop-a", "2026-11"))


def test_sold_at_is_bounded(fake_ports):
    p = fake_ports
    catalogue(p, ("shop-a",))
    now = datetime.now(UTC)
    for bad in (now + timedelta(hours=1), now - timedelta(days=63)):
        with pytest.raises(Exception) as err:
            policies.underwrite(p, SHOP_A, _req("b-1", sold_at=bad))
        assert getattr(err.value, "code", "") == "VALIDATION_FAILED"
    assert calendar.month_of(now)
