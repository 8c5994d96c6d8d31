"""Money conservation over a randomised month: issues, endorsements, cancellations, paid claims and
fulfilled work orders, day after day; every night's reconciliation is clean, and at the end the trial
balance over every book is zero and the month's settlements add up to the ledger."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from petcover.config import reset_settings
from petcover.domain import calendar, journal
from petcover.domain.fees import FeeRate
from petcover.errors import DomainError
from petcover.models.fulfilment import ShipRequest
from petcover.models.money import FeeSchedulePublish
from petcover.models.policies import CancelRequest, EndorseRequest
from petcover.repositories import ledger as ledger_repo
from petcover.services import policies
from petcover.services.claims import submission
from petcover.services.fulfilment import closing, work_orders
from petcover.services.money import fees, reconciliation, settlements
from petcover.services.quality import assessment
from tests.support.bookings import CLINIC, SHOP, online, to_booked
from tests.support.claims import deliver_decisions, rs_claim, rs_policy
from tests.support.clock import Clock
from tests.support.fixtures import catalogue
from tests.support.money import FINANCE
from tests.support.policies import issue_policy, underwrite_request
from tests.support.providers import provider_account

DAYS = 12


def _world(p):
    clock = Clock(datetime(2026, 9, 1, tzinfo=UTC))
    p.clock = clock
    catalogue(p, ("shop-a",))
    provider_account(p, "clinic-a")
    clock.set(datetime(2026, 10, 20, 2, tzinfo=UTC))
    fees.publish(
        p,
        FINANCE,
        "medicine_delivery",
        FeeSchedulePublish(
            effective_from=date(2026, 11, 1), reason="list", rates=[FeeRate(region="*", fee=Decimal("18.50"))]
        ),
    )
    old = [issue_policy(p, clock, order=f"old-{i}", pet=f"old-{i}", days_ago=20) for i in range(6)]
    return clock, old


def _one(p, clock, rng, n, live, old):
    kind = rng.choice(["issue", "issue", "endorse", "cancel", "claim", "fulfil"])
    if kind == "issue" or not live:
        live.append(policies.underwrite(p, SHOP, underwrite_request(f"c-{n}", pet=f"c-{n}")).number)
    elif kind == "endorse":
        number = rng.choice(live)
        plan = "plus" if policies.get_for(p, SHOP, number).plan_code == "basic" else "basic"
        policies.endorse(p, SHOP, number, EndorseRequest(plan_code=plan, reason="change"))
    elif kind == "cancel":
        policies.cancel(p, SHOP, live.pop(rng.randrange(len(live))), CancelRequest(reason="bye"))
    elif kind == "claim":
        pol = rs_policy(p, order=f"rs-{n}")
        submission.submit(p, SHOP, pol.number, rs_claim(p, amount=f"{rng.randint(1, 25)}.00"))
        deliver_decisions(p)
    else:
        aid = to_booked(p, online(pet=f"old-{n % len(old)}"), old[n % len(old)])
        work_orders.ship(p, CLINIC, aid, ShipRequest(carrier="SF", tracking_number="SF12345"))
        closing.confirm_receipt(p, SHOP, aid)


@pytest.mark.parametrize("seed", [7, 2026])
def test_a_random_month_reconciles_every_night_and_the_books_balance(fake_ports, seed):
    reset_settings()
    p = fake_ports
    clock, old = _world(p)
    rng = random.Random(seed)
    live: list[str] = []
    n = 0
    seen: dict[str, int] = {}
    for d in range(DAYS):
        day = date(2026, 11, 1) + timedelta(days=d)
        clock.set(calendar.start_of(day) + timedelta(hours=8))
        for _ in range(rng.randint(3, 8)):
            n += 1
            clock.advance(minutes=rng.randint(1, 40))
            try:
                _one(p, clock, rng, n, live, old)
            except DomainError as exc:  # a refusal the rules make (quota used up...) moves no money
                assert exc.status in (409, 422), exc
        clock.set(calendar.start_of(day + timedelta(days=1)) + timedelta(minutes=40))
        out = reconciliation.reconcile(p)
        report = reconciliation.get_report(p, day.isoformat())
        assert report["differences"] == [], (day, report["differences"])
        assert out["journals"] > 0
        for k, v in report["counts"].items():
            seen[k] = seen.get(k, 0) + v
    assert seen["payouts"] > 0 and seen["fulfilled_orders"] > 0 and seen["policy_versions"] > 20, seen
    books = ["shop-a", "provider:clinic-a"]
    lines = [
        x
        for b in books
        for m in ("2026-09", "2026-10", "2026-11")
        for e in ledger_repo.month_entries(p.store, b, m)
        for x in e.lines
    ]
    debit, credit = journal.totals(lines)
    assert debit == credit and debit > 0
    assert sum(journal.balances(lines).values(), Decimal(0)) == 0
    # the month's settlements agree with the ledger's party accounts
    clock.set(datetime(2026, 12, 2, 2, tzinfo=UTC))
    for month in ("2026-09", "2026-10", "2026-11"):  # the monthly quality assessment comes first
        assessment.run(p, month)
    for party, pid, book in (("channel", "shop-a", "shop-a"), ("provider", "clinic-a", "provider:clinic-a")):
        for month in ("2026-09", "2026-10", "2026-11"):
            s = settlements.run(p, "system:test", party, pid, month)
        balance = journal.balances(
            x
            for m in ("2026-09", "2026-10", "2026-11")
            for e in ledger_repo.month_entries(p.store, book, m)
            for x in e.lines
        )
        acct = f"channel_receivable:{pid}" if party == "channel" else f"provider_payable:{pid}"
        owed = balance.get(acct, Decimal(0)) * (1 if party == "channel" else -1)
        assert s.closing_balance == owed, (party, s.closing_balance, owed)
