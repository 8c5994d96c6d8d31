"""Provider quality with fake ports: ratings, complaints, counters, the monthly run, steering dispatch."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from petcover.domain import sla
from petcover.errors import BusinessRuleViolation, Conflict, Forbidden, NotFound
from petcover.identity import Principal
from petcover.models.fulfilment import ShipRequest
from petcover.models.partners import ProviderConfig, RegionEntry, ServiceOffering
from petcover.models.quality import (
    ApplyRequest,
    ComplaintRequest,
    DecideRequest,
    QualityRulesPut,
    RatingRequest,
)
from petcover.models.sla import ExceptionRaise
from petcover.ports import Ports
from petcover.repositories import dispatch as dispatch_keys
from petcover.repositories import quality as keys
from petcover.services import audit, timeline
from petcover.services.dispatch import assignment as dispatching
from petcover.services.fulfilment import assignment, booking, closing, work_orders
from petcover.services.quality import assessment, feedback, steering
from petcover.services.sla import check, exceptions
from tests.support.bookings import CLINIC, OPS, SHOP, online, setup_world
from tests.support.dispatch import Assigned, message, publish, rule

SHOP_B = Principal("channel", "shop-b")
BOB = Principal("ops", "bob", ("ops",))
MONTH = "2026-11"


def fulfilled(p: Ports, number: str) -> str:
    """An online appointment of clinic-a: assigned, accepted in 5 min, shipped in 1 h, received."""
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    assignment.assign(p, aid, "clinic-a", {"step": "share", "reason": "test", "candidates": []})
    p.clock.advance(minutes=5)  # type: ignore[attr-defined]
    work_orders.accept(p, CLINIC, aid)
    p.clock.advance(hours=1)  # type: ignore[attr-defined]
    work_orders.ship(p, CLINIC, aid, ShipRequest(carrier="SF", tracking_number="SF1234567890"))
    p.clock.advance(hours=1)  # type: ignore[attr-defined]
    closing.confirm_receipt(p, SHOP, aid)
    return aid


def provider_config(pid: str) -> ProviderConfig:
    return ProviderConfig(
        provider_id=pid,
        name=pid,
        version=1,
        services=[ServiceOffering(service_type="medicine_delivery", mode="online_shipping")],
        regions=[RegionEntry(province="310000")],
        daily_capacity=1000,
        contacts=[],
    )


def dispatch_rules_head(p: Ports) -> int:
    head = dispatch_keys.read_head(p.store)
    return head.version if head else 0


def counters(p: Ports, provider: str = "clinic-a"):
    return keys.month_counters(p.store, MONTH)[provider]


# ---------------------------------------------------------------- ratings


def test_a_rating_is_refused_before_fulfilment_then_taken_once(fake_ports):
    p = fake_ports
    _, number = setup_world(p)
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    with pytest.raises(BusinessRuleViolation) as early:
        feedback.rate(p, SHOP, aid, RatingRequest(score=5))
    assert early.value.code == "NOT_YET_FULFILLED" and "once it is fulfilled" in early.value.message
    assert feedback.get_rating(p, aid) is None and keys.month_counters(p.store, MONTH) == {}


def test_the_owner_rates_a_fulfilled_appointment_once_and_the_counter_moves_once(fake_ports):
    p = fake_ports
    _, number = setup_world(p)
    aid = fulfilled(p, number)
    with pytest.raises(NotFound):  # another channel's appointment does not exist for it
        feedback.rate(p, SHOP_B, aid, RatingRequest(score=1))
    got = feedback.rate(p, SHOP, aid, RatingRequest(score=4, tags=["fast", "fast", "kind"], comment="good"))
    assert (got.provider_id, got.score, got.tags, got.month) == ("clinic-a", 4, ["fast", "kind"], MONTH)
    with pytest.raises(Conflict) as again:
        feedback.rate(p, SHOP, aid, RatingRequest(score=1))
    assert again.value.code == "ALREADY_RATED"
    c = counters(p)
    assert (c.rating_count, c.rating_sum) == (1, 4)
    assert feedback.get_rating(p, aid).score == 4  # type: ignore[union-attr]


def test_sixteen_racing_ratings_of_one_appointment_count_once(fake_ports):
    p = fake_ports
    _, number = setup_world(p)
    aid = fulfilled(p, number)
    barrier = threading.Barrier(16)
    outcomes: list[str] = []

    def racer(score: int) -> None:
        barrier.wait()
        try:
            feedback.rate(p, SHOP, aid, RatingRequest(score=score))
            outcomes.append("rated")
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=racer, args=(1 + i % 5,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ALREADY_RATED"] * 15 + ["rated"]
    assert counters(p).rating_count == 1


# ---------------------------------------------------------------- counters from the timeline


def test_nodes_count_orders_and_on_time_per_node_and_a_breach_counts_once(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    assignment.assign(p, aid, "clinic-a", {"step": "share", "reason": "test", "candidates": []})
    clock.advance(minutes=5)
    work_orders.accept(p, CLINIC, aid)  # limit 30 min: on time
    clock.advance(hours=3)  # shipping limit 120 min: late
    assert check.check_breaches(p)["breaches"] == 1
    check.check_breaches(p)  # the same breach again: not counted twice
    work_orders.ship(p, CLINIC, aid, ShipRequest(carrier="SF", tracking_number="SF1234567890"))
    c = counters(p)
    assert c.orders == 1 and c.breaches == 1
    assert (c.done, c.on_time) == ({"accepted": 1, "shipped": 1}, {"accepted": 1})


def test_a_complaint_is_recorded_counted_and_audited_with_its_reason(fake_ports):
    p = fake_ports
    _, number = setup_world(p)
    aid = fulfilled(p, number)
    body = ComplaintRequest(category="timeliness", description="parcel two days late", reason="owner phoned")
    got = feedback.complain(p, OPS, aid, body)
    assert got.provider_id == "clinic-a" and got.recorded_by == "ops:alice"
    assert [c.complaint_id for c in feedback.complaints(p, aid).items] == [got.complaint_id]
    assert counters(p).complaints == 1
    [rec] = audit.by_entity(p, feedback.ENTITY_COMPLAINT, aid)
    assert rec.reason == "owner phoned" and rec.actor == "ops:alice"
    with pytest.raises(NotFound) as missing:
        feedback.complain(p, OPS, "AP-nope", body)
    assert missing.value.code == "WORK_ORDER_NOT_FOUND"


# ---------------------------------------------------------------- the monthly run


def _seed(p: Ports, provider: str, orders: int, on_time: int, rating: tuple[int, int], complaints: int = 0) -> None:
    ops = [
        keys.counter_op(provider, MONTH, "orders", orders),
        keys.counter_op(provider, MONTH, keys.done_metric("accepted"), orders),
        keys.counter_op(provider, MONTH, keys.on_time_metric("accepted"), on_time),
        keys.counter_op(provider, MONTH, "rating", rating[0], total=rating[1]),
        keys.counter_op(provider, MONTH, "complaints", complaints),
    ]
    p.store.transact(ops)


def test_the_month_is_assessed_and_a_rerun_replaces_it_without_counting_twice(fake_ports):
    p = fake_ports
    p.clock = lambda: datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Shanghai
    _seed(p, "good", 100, 98, (50, 240))
    _seed(p, "poor", 100, 40, (50, 100), complaints=30)
    first = assessment.run_job(p, {})
    assert first == {"month": MONTH, "providers": 2, "grades": {"A": 1, "D": 1}, "runs": 1}
    again = assessment.run(p, MONTH)
    assert again.runs == 2
    read = assessment.read(p, MONTH)
    assert [(a.provider_id, a.grade) for a in read.providers] == [("good", "A"), ("poor", "D")]
    assert [s.provider_id for s in read.suspension_proposals] == ["poor"]
    one = assessment.read(p, MONTH, "good").providers
    assert len(one) == 1 and one[0].inputs.orders == 100 and one[0].average_rating == 4.8
    with pytest.raises(NotFound):
        assessment.read(p, "2026-10")


def test_rules_are_versioned_and_a_stale_edit_is_refused(fake_ports):
    p = fake_ports
    _, _ = setup_world(p)
    assert assessment.current_rules(p).version == 0
    rules = assessment.current_rules(p).rules.model_copy(update={"min_orders": 3})
    v1 = assessment.save_rules(p, OPS, QualityRulesPut(rules=rules, base_version=0, note="pilot"))
    assert v1.version == 1 and assessment.current_rules(p).rules.min_orders == 3
    with pytest.raises(Conflict) as stale:
        assessment.save_rules(p, BOB, QualityRulesPut(rules=rules, base_version=0))
    assert stale.value.code == "QUALITY_RULES_CHANGED"


# ---------------------------------------------------------------- steering dispatch


def _steered(p: Ports):
    publish(p, rule({"good": 34, "mid": 33, "poor": 33}, region="310115", service="medicine_delivery"))
    _seed(p, "good", 100, 98, (50, 240))
    _seed(p, "mid", 100, 80, (50, 200))
    _seed(p, "poor", 100, 40, (50, 100), complaints=30)
    assessment.run(p, MONTH)
    return steering.apply(p, OPS, MONTH, ApplyRequest(note="monthly"))


def test_applying_proposes_bounded_shares_that_add_to_100_with_a_reason_each(fake_ports):
    p = fake_ports
    setup_world(p)
    prop = _steered(p)
    after = {c.provider_id: c.after_pct for c in prop.changes}
    assert sum(after.values()) == 100 and after["good"] > 34 and after["poor"] < 33
    assert all(abs(c.after_pct - c.before_pct) <= c.before_pct * 0.2 + 1e-9 for c in prop.changes)
    assert all(c.reason.startswith("grade ") for c in prop.changes)
    assert prop.state == "pending" and prop.tiers["good"] is True and prop.tiers["poor"] is False
    assert [s.provider_id for s in prop.suspension_proposals] == ["poor"]
    assert assessment.read(p, MONTH).proposal_id == prop.proposal_id


def test_the_proposer_cannot_approve_and_another_staff_members_approval_takes_effect(fake_ports):
    p = fake_ports
    setup_world(p)
    prop = _steered(p)
    with pytest.raises(Forbidden) as same:
        steering.decide(p, OPS, prop.proposal_id, DecideRequest(decision="approve"))
    assert same.value.code == "SAME_STAFF_MEMBER"
    done = steering.decide(p, BOB, prop.proposal_id, DecideRequest(decision="approve", reason="checked"))
    assert done.state == "approved" and done.published_version == 2 and done.decided_by == "ops:bob"
    with pytest.raises(Conflict) as twice:
        steering.decide(p, BOB, prop.proposal_id, DecideRequest(decision="approve"))
    assert twice.value.code == "PROPOSAL_DECIDED"
    # The dispatch explanation names the assessment that shaped the shares.
    dispatching.clear_caches()
    configs = {pid: provider_config(pid) for pid in ("good", "mid", "poor")}
    rec = dispatching.dispatch_one(
        p,
        message(1, service="medicine_delivery"),
        assign=Assigned(),
        providers=lambda _p: list(configs.values()),
        confirm=lambda _p, pid: configs[pid],
    )
    assert rec.decision is not None and rec.decision.provider_id in configs
    assert rec.decision.rule_version == 2 and rec.decision.assessment is not None
    assert f"quality assessment {MONTH} (proposal {prop.proposal_id}" in rec.decision.assessment


def test_a_core_tier_from_an_approval_makes_the_sla_due_time_10_percent_shorter(fake_ports):
    p = fake_ports
    clock, _ = setup_world(p)
    prop = _steered(p)
    steering.decide(p, BOB, prop.proposal_id, DecideRequest(decision="approve"))
    at = clock.now
    timeline.record(
        p,
        order_id="WO-core",
        provider_id="good",
        node=sla.ASSIGNED,
        service_type="x",
        region="310115",
        online=True,
        at=at,
    )
    timeline.record(
        p,
        order_id="WO-std",
        provider_id="mid",
        node=sla.ASSIGNED,
        service_type="x",
        region="310115",
        online=True,
        at=at,
    )
    due = {wo.order_id: wo for wo in timeline.open_orders(p)}
    assert due["WO-core"].core_provider is True and due["WO-std"].core_provider is False
    assert sla.order_limit(sla.DEFAULT_SLA, due["WO-core"]) == ("accepted", timedelta(minutes=27))
    assert sla.order_limit(sla.DEFAULT_SLA, due["WO-std"]) == ("accepted", timedelta(minutes=30))


def test_a_rejected_proposal_changes_nothing_and_a_stale_one_cannot_be_approved(fake_ports):
    p = fake_ports
    setup_world(p)
    prop = _steered(p)
    rejected = steering.decide(p, BOB, prop.proposal_id, DecideRequest(decision="reject", reason="wait"))
    assert rejected.state == "rejected" and rejected.published_version is None
    again = steering.apply(p, OPS, MONTH, ApplyRequest())
    publish(p, rule({"good": 50, "mid": 50}, region="310115", service="medicine_delivery"))  # rules moved on
    with pytest.raises(Conflict) as stale:
        steering.decide(p, BOB, again.proposal_id, DecideRequest(decision="approve"))
    assert stale.value.code == "RULES_CHANGED"
    assert steering.get(p, again.proposal_id).state == "pending"


def test_a_raised_exception_counts_for_the_provider_of_the_work_order(fake_ports):
    p = fake_ports
    clock, number = setup_world(p)
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    assignment.assign(p, aid, "clinic-a", {"step": "share", "reason": "test", "candidates": []})
    clock.advance(minutes=5)
    exceptions.raise_exception(p, CLINIC, aid, ExceptionRaise(reason="address cannot be found"))
    c = counters(p)
    assert (c.orders, c.exceptions) == (1, 1)


def test_two_staff_members_approving_at_once_publish_one_version(fake_ports):
    p = fake_ports
    setup_world(p)
    prop = _steered(p)
    carol = Principal("ops", "carol", ("ops",))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(who: Principal) -> None:
        barrier.wait()
        try:
            outcomes.append(steering.decide(p, who, prop.proposal_id, DecideRequest(decision="approve")).state)
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=approve, args=(who,)) for who in (BOB, carol)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["PROPOSAL_DECIDED", "approved"]
    assert dispatch_rules_head(p) == 2 and steering.get(p, prop.proposal_id).state == "approved"
