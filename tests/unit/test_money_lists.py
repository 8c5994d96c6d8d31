"""What finance lists: the money-request queue and the decided ones, settlements of a month or a party,
fee schedule versions and reconciliation nights, each one bounded page at a time."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from petcover.config import reset_settings
from petcover.domain.fees import FeeRate
from petcover.errors import InvalidInput
from petcover.identity import Principal
from petcover.models.money import FeeSchedulePublish, MoneyDecision, MoneyListQuery, MoneyRequestCreate
from petcover.services import policies
from petcover.services.money import fees, lists, reconciliation, requests, settlements
from tests.support.clock import Clock
from tests.support.fixtures import catalogue
from tests.support.money import FINANCE, FINANCE_2
from tests.support.policies import underwrite_request

SHOP = Principal("channel", "shop-a")


@pytest.fixture
def p(fake_ports, monkeypatch):
    monkeypatch.setenv("OPS_CHAT_URL", "http://127.0.0.1:9/chat")
    reset_settings()
    fake_ports.clock = Clock(datetime(2026, 11, 10, 2, tzinfo=UTC))
    catalogue(fake_ports, ("shop-a", "shop-b"))
    yield fake_ports
    reset_settings()


def q(**kw):
    return MoneyListQuery.model_validate(kw)


def test_pending_requests_come_oldest_first_page_by_page_and_decided_ones_newest_first(p):
    pol = policies.underwrite(p, SHOP, underwrite_request("l-1"))
    made = []
    for n in range(3):
        p.clock.advance(minutes=1)
        spec = MoneyRequestCreate(kind="manual_refund", policy_number=pol.number, amount=Decimal(1), reason=f"r {n}")
        made.append(requests.create(p, FINANCE, spec).request_id)
    first = lists.listing(p, "money-requests", q(limit=2))
    rest = lists.listing(p, "money-requests", q(limit=2, cursor=first.cursor))
    assert [r.request_id for r in first.money_requests + rest.money_requests] == made
    p.clock.advance(minutes=1)
    requests.decide(p, FINANCE_2, made[0], MoneyDecision(decision="approve"))
    p.clock.advance(minutes=1)
    requests.decide(p, FINANCE_2, made[2], MoneyDecision(decision="reject", note="not due"))
    decided = lists.listing(p, "money-requests", q(status="decided"))
    assert [(r.request_id, r.status) for r in decided.money_requests] == [(made[2], "rejected"), (made[0], "approved")]
    assert [r.request_id for r in lists.listing(p, "money-requests", q()).money_requests] == [made[1]]
    with pytest.raises(InvalidInput):
        lists.listing(p, "money-requests", q(status="paid"))


def test_settlements_of_a_month_or_a_party_filtered_by_status(p):
    for ch in ("shop-a", "shop-b"):
        policies.underwrite(p, Principal("channel", ch), underwrite_request(f"s-{ch}", pet=f"pet-{ch}"))
    p.clock.set(datetime(2026, 12, 2, 2, tzinfo=UTC))
    for ch in ("shop-a", "shop-b"):
        settlements.run(p, "ops:fin-1", "channel", ch, "2026-11")
    month = lists.listing(p, "settlements", q(month="2026-11"))
    assert [s.party_id for s in month.settlements] == ["shop-a", "shop-b"]
    assert all(s.lines == [] for s in month.settlements)
    one = lists.listing(p, "settlements", q(party="channel", party_id="shop-b"))
    assert [s.settlement_id for s in one.settlements] == ["channel.shop-b.2026-11"]
    assert lists.listing(p, "settlements", q(month="2026-11", status="paid")).settlements == []
    for bad in (q(), q(party="channel"), q(month="2026-11", status="pending")):
        with pytest.raises(InvalidInput):
            lists.listing(p, "settlements", bad)


def test_fee_schedule_versions_and_the_latest_of_each(p):
    for st, fee in (("checkup", "10"), ("checkup", "12"), ("medicine_delivery", "5")):
        req = FeeSchedulePublish(effective_from=date(2026, 11, 20), reason="list", rates=[FeeRate(region="*", fee=fee)])
        fees.publish(p, FINANCE, st, req)
    versions = lists.listing(p, "fee-schedules", q(service_type="checkup")).fee_versions
    assert [(v.version, v.rates[0].fee) for v in versions] == [(2, Decimal(12)), (1, Decimal(10))]
    latest = lists.listing(p, "fee-schedules", q()).fee_versions
    assert [(v.service_type, v.version) for v in latest] == [("checkup", 2), ("medicine_delivery", 1)]
    assert lists.listing(p, "fee-schedules", q(service_type="grooming")).fee_versions == []


def test_reconciliation_nights_latest_first_with_their_counts_and_by_month(p):
    p.clock.set(datetime(2026, 12, 3, 2, tzinfo=UTC))
    for day in (date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)):
        reconciliation.reconcile(p, day)
    nights = lists.listing(p, "reconciliation-reports", q()).reconciliation_reports
    assert [n.day for n in nights] == ["2026-12-02", "2026-12-01", "2026-11-30"]
    assert all(n.status == "clean" and n.differences == 0 for n in nights)
    nov = lists.listing(p, "reconciliation-reports", q(month="2026-11")).reconciliation_reports
    assert [n.day for n in nov] == ["2026-11-30"]
