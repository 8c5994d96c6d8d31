"""One business calendar: every path that needs "today" or a term boundary asks domain.calendar.

Each path is walked through 23:59, 00:00, 07:59 and 08:00 Asia/Shanghai around a business
midnight (tests.support.business_time). Between 00:00 and 08:00 the UTC date is still the day
before; at 23:59 and 08:00 the two dates agree, so those cases hold the boundary on each side.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from infra import template
from petcover.config import Settings
from petcover.domain import calendar, refund
from petcover.domain.catalog import InsuredFacts
from petcover.domain.sla import NodeEvent
from petcover.errors import BusinessRuleViolation, Forbidden, InvalidInput
from petcover.identity import Principal
from petcover.models.bulk import BulkIssueRequest
from petcover.models.catalog import ChannelCreate, ContractCreate
from petcover.models.claims import ClaimCreate
from petcover.models.fulfilment import Address, BookingRequest, Pet
from petcover.models.policies import CancelRequest, Holder, QuoteRequest, RenewRequest, UnderwriteRequest
from petcover.ports import Ports
from petcover.repositories import timeline as timeline_repo
from petcover.services import bulk, catalog, channels, ledger, policies, quota
from petcover.services.claims import auto, lookups, submission
from petcover.services.dispatch import counters
from petcover.services.fulfilment import booking
from tests.support.business_time import SHOP, TIMES, around, business_day, issue_on, local, world
from tests.support.fixtures import STAFF

NEW_YEAR = date(2027, 1, 1)  # a business day that is also a new month and a new year
ADDRESS = Address(
    contact_name="Li Lei",
    phone="+86 138 0000 0000",
    line="Room 1, 100 Century Avenue",
    province="310000",
    city="310100",
    district="310115",
)


def _online(pet: str) -> BookingRequest:
    return BookingRequest(benefit_code="medicine-delivery", pet=Pet(pet_id=pet, name="Bobo"), address=ADDRESS)


# ------------------------------------------------------------------ the calendar itself
@pytest.mark.parametrize("clock_time", TIMES)
def test_the_business_day_is_the_shanghai_date_not_the_utc_date(clock_time: str) -> None:
    at = around(NEW_YEAR, clock_time)
    assert calendar.today(at) == calendar.day_of(at) == business_day(NEW_YEAR, clock_time)
    assert calendar.month_of(at) == ("2026-12" if clock_time == "23:59" else "2027-01")
    utc_day = at.astimezone(UTC).date()
    assert (utc_day == calendar.day_of(at)) == (clock_time in ("23:59", "08:00"))


def test_a_term_runs_from_the_start_midnight_to_the_end_midnight() -> None:
    term = calendar.term(date(2026, 1, 1), NEW_YEAR)
    assert term.starts_at == local(date(2026, 1, 1)) and term.ends_at == local(NEW_YEAR)
    assert not term.covers(term.starts_at - timedelta(microseconds=1)) and term.covers(term.starts_at)
    assert term.covers(local(date(2026, 12, 31), 23, 59)) and not term.covers(term.ends_at)
    assert calendar.covers_day(date(2026, 1, 1), NEW_YEAR, date(2026, 12, 31))
    assert not calendar.covers_day(date(2026, 1, 1), NEW_YEAR, NEW_YEAR)


def test_days_after_lists_every_missed_day_and_nothing_when_caught_up() -> None:
    assert calendar.days_after(date(2026, 12, 29), NEW_YEAR) == [
        date(2026, 12, 30),
        date(2026, 12, 31),
        NEW_YEAR,
    ]
    assert calendar.days_after(NEW_YEAR, NEW_YEAR) == [] and calendar.days_after(NEW_YEAR, date(2026, 12, 1)) == []


def test_a_naive_datetime_has_no_business_day() -> None:
    with pytest.raises(ValueError, match="naive"):
        calendar.day_of(datetime(2026, 12, 31, 23, 59))


def test_the_zone_is_one_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from petcover.config import reset_settings

    at = around(NEW_YEAR, "07:59")
    try:
        monkeypatch.setenv("BUSINESS_TIMEZONE", "UTC")
        reset_settings()
        assert calendar.day_of(at) == date(2026, 12, 31) and calendar.start_of(NEW_YEAR).utcoffset() == timedelta(0)
        monkeypatch.setenv("BUSINESS_TIMEZONE", "Mars/Olympus_Mons")
        with pytest.raises(ValueError, match="IANA time zone"):
            Settings()  # type: ignore[call-arg]
    finally:
        monkeypatch.delenv("BUSINESS_TIMEZONE")
        reset_settings()
    assert calendar.day_of(at) == NEW_YEAR


# Reading a date or a zone off an instant anywhere but the calendar is how a UTC "today" comes back.
DAY_OUTSIDE_THE_CALENDAR = re.compile(
    "|".join((r"\.date\(\)", r"date\.today\(", r"ZoneInfo\(", r"\.astimezone\((?!UTC\))", r"datetime\.now\((?!UTC\))"))
)
ROOT = Path(__file__).resolve().parents[2]


def test_no_code_reads_a_day_off_an_instant_outside_the_calendar() -> None:
    allowed = {"shared/petcover/domain/calendar.py", "shared/petcover/config.py"}
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for folder in ("shared/petcover", "functions")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in allowed
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if DAY_OUTSIDE_THE_CALENDAR.search(line)
    ]
    assert not found, "ask petcover.domain.calendar:\n" + "\n".join(found)


def test_the_schedules_and_the_functions_take_the_zone_from_one_parameter() -> None:
    zone = {"Ref": "BusinessTimezone"}
    assert template.load()["Parameters"]["BusinessTimezone"]["Default"] == Settings.model_fields["timezone"].default
    assert template.globals_env()["BUSINESS_TIMEZONE"] == zone
    zones = [
        event["Properties"].get("ScheduleExpressionTimezone")
        for fn in template.functions().values()
        for event in (fn["Properties"].get("Events") or {}).values()
        if event["Type"] == "ScheduleV2" and event["Properties"]["ScheduleExpression"].startswith("cron(")
    ]
    assert zones and all(z == zone for z in zones), zones


# ------------------------------------------------------------------ booking
@pytest.mark.parametrize("clock_time", TIMES)
def test_a_booking_against_a_term_that_ended_is_refused(fake_ports: Ports, clock_time: str) -> None:
    clock = world(fake_ports)
    pol = issue_on(fake_ports, clock, date(2026, 1, 1), order="o-1", pet="pet-1")
    assert pol.end_date == NEW_YEAR  # 365 days: the term ends at 00:00 on New Year's Day
    clock.set(around(NEW_YEAR, clock_time))
    if clock_time == "23:59":
        got = booking.book_appointment(fake_ports, SHOP, pol.number, _online("pet-1"))
        assert got.appointment_id.startswith("AP261231")
        return
    with pytest.raises(BusinessRuleViolation) as refused:
        booking.book_appointment(fake_ports, SHOP, pol.number, _online("pet-1"))
    assert refused.value.code == "POLICY_NOT_IN_FORCE"


@pytest.mark.parametrize("clock_time", TIMES)
def test_a_benefit_can_be_booked_from_the_midnight_its_waiting_period_ends(fake_ports: Ports, clock_time: str) -> None:
    clock = world(fake_ports)
    pol = issue_on(fake_ports, clock, date(2026, 3, 1), order="o-1", pet="pet-1")
    opens = date(2026, 3, 16)  # 15-day waiting period
    assert {b.code: b.available_from for b in pol.benefits}["medicine-delivery"] == opens
    clock.set(around(opens, clock_time))
    if clock_time == "23:59":
        with pytest.raises(BusinessRuleViolation) as waiting:
            booking.book_appointment(fake_ports, SHOP, pol.number, _online("pet-1"))
        assert waiting.value.code == "BENEFIT_IN_WAITING_PERIOD"
        return
    got = booking.book_appointment(fake_ports, SHOP, pol.number, _online("pet-1"))
    assert got.appointment_id.startswith("AP260316")  # the id carries the business day


# ------------------------------------------------------------------ claims
@pytest.mark.parametrize("clock_time", TIMES)
def test_a_same_day_claim_is_accepted(fake_ports: Ports, clock_time: str) -> None:
    clock = world(fake_ports)
    pol = issue_on(fake_ports, clock, date(2026, 6, 1), order="o-1", pet="pet-1")
    clock.set(around(NEW_YEAR, clock_time))
    today = business_day(NEW_YEAR, clock_time)
    claim = submission.submit(
        fake_ports,
        SHOP,
        pol.number,
        ClaimCreate(incident_date=today, incident_type="illness", amount=Decimal("300.00")),
    )
    assert claim.incident_date == today and claim.claim_number.startswith(f"CL{today.year}")
    day = today.isoformat()
    [row] = ledger.statistics(fake_ports, ["shop-a"], {"pet-health": ["basic"]}, "day", day, day)
    assert row.claims == 1


@pytest.mark.parametrize("clock_time", TIMES)
def test_a_claim_dated_tomorrow_is_refused(fake_ports: Ports, clock_time: str) -> None:
    clock = world(fake_ports)
    pol = issue_on(fake_ports, clock, date(2026, 6, 1), order="o-1", pet="pet-1")
    clock.set(around(NEW_YEAR, clock_time))
    tomorrow = business_day(NEW_YEAR, clock_time) + timedelta(days=1)
    with pytest.raises(InvalidInput) as refused:
        submission.submit(
            fake_ports,
            SHOP,
            pol.number,
            ClaimCreate(incident_date=tomorrow, incident_type="illness", amount=Decimal(1)),
        )
    assert refused.value.details == [{"field": "incident_date", "message": "after today", "type": "date_rule"}]


@pytest.mark.parametrize("clock_time", TIMES)
def test_an_automatic_claim_counts_business_days_since_the_incident(fake_ports: Ports, clock_time: str) -> None:
    clock = world(fake_ports)
    pol = issue_on(
        fake_ports, clock, date(2026, 11, 1), order="rs-1", pet="order-rs-1", product="return-shipping", plan="standard"
    )
    clock.set(around(NEW_YEAR, clock_time))
    incident = business_day(NEW_YEAR, clock_time) - timedelta(days=31)  # one day past the 30-day window
    claim = submission.submit(
        fake_ports,
        SHOP,
        pol.number,
        ClaimCreate.model_validate(
            {
                "incident_date": incident.isoformat(),
                "incident_type": "return_shipment",
                "amount": "12.00",
                "evidence": {"tracking_number": "SF1234567890"},
            }
        ),
    )
    outcome = auto.auto_decide(fake_ports, claim.claim_number)  # what the claim's own decision message runs
    got = lookups.get(fake_ports, SHOP, claim.claim_number)
    assert (outcome, got.status) == ("rejected", "rejected")
    assert got.decision is not None and got.decision.rule == "claimed_within_30_days"


# ------------------------------------------------------------------ policies, contracts, money
def _underwrite(order: str, pet: str) -> UnderwriteRequest:
    facts = InsuredFacts(insured_id=pet, species="dog", breed_size="small", age_months=30, region="310115")
    return UnderwriteRequest(
        product_code="pet-health", plan_code="basic", insured=facts, channel_order_id=order, holder=Holder(name="Li")
    )


@pytest.mark.parametrize("clock_time", TIMES)
def test_a_policy_starts_and_is_booked_on_the_business_day(fake_ports: Ports, clock_time: str) -> None:
    clock = world(fake_ports)
    clock.set(around(NEW_YEAR, clock_time))
    today = business_day(NEW_YEAR, clock_time)
    pol = policies.underwrite(fake_ports, SHOP, _underwrite("o-1", "pet-1"))
    assert (pol.start_date, pol.end_date) == (today, today + timedelta(days=365))
    assert pol.number.startswith(f"PC{today.year}")
    month = calendar.month_of(clock.now)
    [entry] = ledger.statement_entries(fake_ports, "shop-a", month)
    assert entry.policy_number == pol.number and month == today.strftime("%Y-%m")
    assert entry.settle_by == date(today.year + (today.month == 12), today.month % 12 + 1, 10)
    day = today.isoformat()
    [row] = ledger.statistics(fake_ports, ["shop-a"], {"pet-health": ["basic"]}, "day", day, day)
    assert row.policies == 1
    assert ledger.statement_csv([entry]).splitlines()[1].startswith(f"{day}T")  # the business clock


def _channel_until(p: Ports, channel_id: str, last_day: date) -> None:
    channel = ChannelCreate(id=channel_id, name="Z", callback_url="http://127.0.0.1:9/h", rate_limit=100)
    channels.add_channel(p, STAFF, channel)
    terms = ContractCreate(
        product_code="pet-health",
        permissions=["quote", "underwrite"],
        effective_from=date(2020, 1, 1),
        effective_to=last_day,
    )
    catalog.create_contract(p, STAFF, channel_id, terms)


@pytest.mark.parametrize("clock_time", TIMES)
def test_a_contract_ends_at_the_business_midnight(fake_ports: Ports, clock_time: str) -> None:
    clock = world(fake_ports)
    _channel_until(fake_ports, "shop-z", date(2026, 12, 31))
    clock.set(around(NEW_YEAR, clock_time))
    facts = InsuredFacts(insured_id="pet-1", species="dog", breed_size="small", age_months=30, region="310115")
    quote = QuoteRequest(product_code="pet-health", plan_code="basic", insured=facts)
    job = BulkIssueRequest(channel_id="shop-z", product_code="pet-health", plan_code="basic", content="insured_id\n")
    if clock_time == "23:59":
        assert policies.quote(fake_ports, Principal("channel", "shop-z"), quote).quote.premium > 0
        assert bulk.start(fake_ports, STAFF, job).status == "splitting"
        return
    # A channel's quote is checked by the adapter (petcover.authorization) with this rule and the business day.
    with pytest.raises(Forbidden) as quoted:
        catalog.authorize(fake_ports, "shop-z", "pet-health", "quote", calendar.today(fake_ports.now()))
    with pytest.raises(Forbidden) as bulked:
        bulk.start(fake_ports, STAFF, job)
    assert quoted.value.code == bulked.value.code == "CONTRACT_NOT_IN_EFFECT"


@pytest.mark.parametrize("clock_time", TIMES)
def test_the_renewal_window_opens_at_the_business_midnight(fake_ports: Ports, clock_time: str) -> None:
    clock = world(fake_ports)
    pol = issue_on(fake_ports, clock, date(2026, 1, 1), order="o-1", pet="pet-1")
    opens = pol.end_date - timedelta(days=30)
    clock.set(around(opens, clock_time))
    if clock_time == "23:59":
        with pytest.raises(BusinessRuleViolation) as early:
            policies.renew(fake_ports, SHOP, pol.number, RenewRequest(channel_order_id="o-2"))
        assert early.value.code == "TOO_EARLY_TO_RENEW"
        return
    renewed = policies.renew(fake_ports, SHOP, pol.number, RenewRequest(channel_order_id="o-2"))
    assert renewed.start_date == pol.end_date and renewed.renewed_from == pol.number  # no gap, no overlap


@pytest.mark.parametrize("clock_time", TIMES)
def test_a_cancellation_refunds_the_business_days_left(fake_ports: Ports, clock_time: str) -> None:
    clock = world(fake_ports)
    pol = issue_on(fake_ports, clock, date(2026, 1, 1), order="o-1", pet="pet-1")
    cancel_day = date(2026, 7, 1)
    clock.set(around(cancel_day, clock_time))
    rule = catalog.get_version(fake_ports, pol.product_code, pol.product_version).refund
    wanted = refund.refund_amount(rule, pol.premium, pol.start_date, pol.end_date, business_day(cancel_day, clock_time))
    got = policies.cancel(fake_ports, SHOP, pol.number, CancelRequest(reason="moving abroad"))
    assert got.refund == wanted and got.refund > 0


# ------------------------------------------------------------------ fulfilment, dispatch, SLA days
@pytest.mark.parametrize("clock_time", TIMES)
def test_a_work_order_node_is_filed_under_its_business_day(clock_time: str) -> None:
    at = around(NEW_YEAR, clock_time)
    event = NodeEvent(order_id="AP1", provider_id="clinic-a", region="310115", service_type="vet", node="x", at=at)
    item = timeline_repo.node_item(event)
    assert item["gsi2pk"] == timeline_repo.nodes_day_pk(business_day(NEW_YEAR, clock_time).isoformat())


@pytest.mark.parametrize("clock_time", TIMES)
def test_dispatch_counters_and_quota_activity_use_the_business_day(fake_ports: Ports, clock_time: str) -> None:
    """These two already counted Shanghai days; they now ask the same calendar (a regression guard)."""
    fake_ports.clock = lambda: around(NEW_YEAR, clock_time)
    day = business_day(NEW_YEAR, clock_time).isoformat()
    assert counters.business_date(fake_ports) == quota.business_day(fake_ports) == day
