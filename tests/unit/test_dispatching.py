"""Dispatch service with fake ports: rules, counters under concurrency, idempotency, manual fallback, why."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from petcover.errors import BusinessRuleViolation, Conflict, InvalidInput
from petcover.models.dispatch import ManualAssignRequest, SimulationRequest
from petcover.ports import Ports
from petcover.services import audit
from petcover.services.dispatch import assignment, counters, coverage, manual, simulation
from petcover.services.dispatch import rules as dispatch_rules
from petcover.services.partners import config, directory
from tests.support.blobs import FakeBlobs
from tests.support.dispatch import Assigned, OtherContainer, message, publish, rule
from tests.support.providers import STAFF, onboard_provider

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def p(fake_ports):
    ticks = itertools.count()
    fake_ports.clock = lambda: NOW + timedelta(milliseconds=next(ticks))
    fake_ports.blobs = FakeBlobs()
    assignment.clear_caches()
    yield fake_ports
    assignment.clear_caches()


@pytest.fixture
def clinics(p) -> list[str]:
    return [onboard_provider(p, f"Clinic {c}") for c in "ABC"]


def counts(p: Ports, scope: str = "310115#checkup", day: str = "2026-11-22") -> tuple[dict[str, int], int]:
    return counters.read_counts(p, day, scope)


# ---------------------------------------------------------------- rules


def test_rules_whose_shares_do_not_add_up_are_refused_with_the_actual_sum(p):
    with pytest.raises(InvalidInput) as exc:
        publish(p, rule({"a": 50, "b": 30, "c": 10}), rule({"a": 100}, region="310000"))
    assert exc.value.code == "DISPATCH_RULES_INVALID"
    assert "add up to 90, not 100" in exc.value.message
    (problem,) = exc.value.details
    assert problem["actual_sum"] == 90 and problem["region_code"] == "310115" and problem["service_type"] == "checkup"
    assert dispatch_rules.overview(p).head_version == 0  # nothing was stored
    assert dispatch_rules.in_effect(p) is None


def test_publishing_versions_the_rules_audits_them_and_keeps_the_previous_readable(p):
    v1 = publish(p, rule({"a": 60, "b": 40}), note="launch")
    v2 = publish(p, rule({"a": 50, "b": 50}), base_version=1)
    assert (v1.version, v2.version) == (1, 2)
    assert dispatch_rules.in_effect(p).version == 2
    old = dispatch_rules.get_version(p, 1)
    assert old.status == "superseded" and old.rules[0].providers[0].share_pct == 60
    view = dispatch_rules.overview(p)
    assert [v.version for v in view.versions] == [2, 1] and view.in_effect.version == 2
    trail = audit.by_entity(p, "dispatch_rules", "2")
    assert trail[0].action == "published" and trail[0].actor == "ops:rita"
    assert trail[0].after["scopes"]["changed"] == ["310115#checkup"]
    with pytest.raises(Conflict) as exc:
        publish(p, rule({"a": 100}), base_version=1)  # drafted from 1, but 2 is out
    assert exc.value.code == "RULES_CHANGED"
    with pytest.raises(InvalidInput) as past:
        publish(p, rule({"a": 100}), effective_at=(NOW - timedelta(hours=1)).isoformat())
    assert past.value.code == "EFFECTIVE_AT_IN_PAST"


def test_a_version_effective_in_the_future_does_not_apply_yet(p, clinics):
    a, b, _ = clinics
    assigned = Assigned()
    publish(p, rule({a: 100}))
    publish(p, rule({b: 100}), effective_at=(NOW + timedelta(hours=1)).isoformat())
    assert dispatch_rules.overview(p).scheduled == [2]
    first = assignment.dispatch_one(p, message(1), assign=assigned)
    assert (first.decision.provider_id, first.decision.rule_version) == (a, 1)

    p.clock = lambda: NOW + timedelta(hours=2)
    later = assignment.dispatch_one(p, message(2), assign=assigned)
    assert (later.decision.provider_id, later.decision.rule_version) == (b, 2)
    assert dispatch_rules.get_version(p, 1).status == "superseded"


# ---------------------------------------------------------------- dispatching


def test_assignment_records_why_and_hands_the_decision_to_fulfilment(p, clinics):
    a, b, c = clinics
    publish(p, rule({a: 50, b: 30, c: 20}))
    assigned = Assigned()
    for i in range(10):
        assignment.dispatch_one(p, message(i), assign=assigned, rng=random.Random(i))

    rec = manual.explain(p, "ap-9")
    d = rec.decision
    assert rec.state == "assigned" and d.decided_by == "dispatch" and d.rule_version == 1
    assert d.counter_scope == "310115#checkup" and d.business_date == "2026-11-22"
    assert {c.provider_id: c.target_pct for c in d.candidates} == {a: 50.0, b: 30.0, c: 20.0}
    assert sum(c.assigned_today for c in d.candidates) == 9  # the counts this decision saw
    assert d.step in ("deviation", "weighted_random") and d.provider_id in d.reason
    # fulfilment got exactly the stored decision
    assert assigned.calls[-1] == ("ap-9", d.provider_id, d.model_dump(mode="json"))
    per_provider, total = counts(p)
    assert total == 10 and sum(per_provider.values()) == 10
    assert per_provider == dict(assigned.providers())


def test_shares_follow_the_rule_over_a_day(p, clinics):
    a, b, c = clinics
    publish(p, rule({a: 50, b: 30, c: 20}))
    assigned = Assigned()
    rng = random.Random(7)
    for i in range(400):
        assignment.dispatch_one(p, message(i), assign=assigned, rng=rng)
    got = assigned.providers()
    for pid, target in ((a, 50), (b, 30), (c, 20)):
        assert abs(100 * got[pid] / 400 - target) <= 0.5, got


class SlowReads:
    """Wraps the store so every read of counts takes a moment: workers decide on counts others are moving."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def query(self, *a: Any, **kw: Any) -> Any:
        page = self._inner.query(*a, **kw)
        time.sleep(0.002)
        return page

    def get_many(self, keys: Any) -> Any:
        found = self._inner.get_many(keys)
        time.sleep(0.002)
        return found


def test_capacity_is_never_exceeded_by_eight_concurrent_workers(p, clinics):
    a, b, _ = clinics
    publish(p, rule({a: 50, b: 50}, capacity=5))
    slow = Ports(store=SlowReads(p.store), publisher=p.publisher, clock=p.clock)
    assigned = Assigned()
    barrier = threading.Barrier(8)

    def worker(k: int) -> list[Any]:
        barrier.wait()
        rng = random.Random(k)
        return [assignment.dispatch_one(slow, message(f"{k}-{i}"), assign=assigned, rng=rng) for i in range(5)]

    with ThreadPoolExecutor(8) as pool:
        records = [r for batch in pool.map(worker, range(8)) for r in batch]

    per_provider, total = counts(p)
    assert per_provider == {a: 5, b: 5}  # the conditional ADD held both at their capacity
    assert total == 40
    assert assigned.providers() == Counter({a: 5, b: 5, None: 30})  # the rest went to the ops queue
    assert sum(r.state == "manual" for r in records) == 30
    assert len(manual.manual_queue(p, limit=100).items) == 30
    assert any(r.decision.attempts > 1 for r in records), "no worker lost a capacity race: the test did not race"
    full = next(r for r in records if r.state == "manual").decision
    assert full.excluded == {a: "at full daily capacity", b: "at full daily capacity"} and full.coverage_gap


class BlindCounts:
    """A store whose reads never show a counter (a stale read at its worst)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def query(self, pk: str, **kw: Any) -> Any:
        page = self._inner.query(pk, **kw)
        return type(page)([], None) if pk.startswith("DCOUNT#") else page

    def get_many(self, keys: Any) -> Any:
        return {k: v for k, v in self._inner.get_many(keys).items() if not k[0].startswith("DCOUNT#")}


def test_stale_counts_cannot_push_a_provider_past_capacity_or_loop(p, clinics):
    a, b, _ = clinics
    publish(p, rule({a: 50, b: 50}, capacity=2))
    blind = Ports(store=BlindCounts(p.store), publisher=p.publisher, clock=p.clock)
    assigned = Assigned()
    records = [assignment.dispatch_one(blind, message(i), assign=assigned, rng=random.Random(i)) for i in range(6)]
    assert counts(p)[0] == {a: 2, b: 2}
    assert assigned.providers() == Counter({a: 2, b: 2, None: 2})
    last = records[-1].decision
    assert last.excluded == {a: "at full daily capacity", b: "at full daily capacity"} and last.attempts == 3


def test_the_two_step_way_follows_rules_published_by_another_container_at_once(p, clinics):
    """The way orders with items and redeliveries take: its batched read of the counts carries the
    rules' HEAD too, so the order after a publish elsewhere follows the new rule, not the cached one."""
    a, b, _ = clinics
    publish(p, rule({a: 100}))
    assigned = Assigned()
    assert assignment.dispatch_one(p, message(1), assign=assigned).decision.provider_id == a  # rules cached
    elsewhere = Ports(store=OtherContainer(p.store), publisher=p.publisher, clock=p.clock)
    publish(elsewhere, rule({b: 100}))
    assert assignment.dispatch_one(p, message(2), assign=assigned).decision.provider_id == b
    assert counts(p)[0] == {a: 1, b: 1}


def test_an_order_the_cached_rules_have_no_rule_for_reads_the_head_before_going_to_the_queue(p, clinics):
    a, *_ = clinics
    assigned = Assigned()
    assert assignment.dispatch_one(p, message(1), assign=assigned).state == "manual"  # no rules yet: cached so
    elsewhere = Ports(store=OtherContainer(p.store), publisher=p.publisher, clock=p.clock)
    publish(elsewhere, rule({a: 100}))
    rec = assignment.dispatch_one(p, message(2), assign=assigned)
    assert rec.state == "assigned" and rec.decision.provider_id == a


def test_a_redelivered_message_is_assigned_again_but_counted_once(p, clinics):
    a, b, c = clinics
    publish(p, rule({a: 50, b: 30, c: 20}))
    assigned = Assigned()
    first = assignment.dispatch_one(p, message(1), assign=assigned)
    writes_before = p.store.calls.get("update", 0)
    again = assignment.dispatch_one(p, message(1), assign=assigned)
    assert again.decision == first.decision
    assert [call[:2] for call in assigned.calls] == [("ap-1", first.decision.provider_id)] * 2
    assert assigned.calls[0][2] == assigned.calls[1][2]
    assert p.store.calls.get("update", 0) == writes_before  # no counter moved the second time
    assert counts(p) == ({first.decision.provider_id: 1}, 1)


def test_a_claim_left_by_a_dead_worker_is_taken_over_after_the_lease(p, clinics):
    a, *_ = clinics
    publish(p, rule({a: 100}))
    assignment._claim(p, assignment.parse_message(message(1)))  # a worker claimed it, then died
    with pytest.raises(Conflict) as exc:
        assignment.dispatch_one(p, message(1), assign=Assigned())
    assert exc.value.code == "DISPATCH_IN_PROGRESS"
    p.clock = lambda: NOW + assignment.CLAIM_LEASE + timedelta(seconds=1)
    assigned = Assigned()
    rec = assignment.dispatch_one(p, message(1), assign=assigned)
    assert rec.state == "assigned" and assigned.calls[0][1] == a
    assert counts(p) == ({a: 1}, 1)


def test_no_rule_goes_to_the_ops_queue_with_a_coverage_gap_and_ops_assign_it_by_hand(p, clinics):
    a, *_ = clinics
    publish(p, rule({a: 100}))
    assigned = Assigned()
    hangzhou = {"province": "330000", "city": "330100", "district": "330106"}
    for i in (1, 2):
        rec = assignment.dispatch_one(p, message(i, region=hangzhou), assign=assigned)
        assert rec.state == "manual" and rec.decision.step == "manual" and rec.decision.coverage_gap
    assert assigned.calls[0][1] is None and assigned.calls[0][2]["step"] == "manual"
    (gap,) = coverage.coverage_gaps(p).items
    assert (gap.region_code, gap.service_type, gap.count, gap.last_kind) == ("330106", "checkup", 2, "no_rule")
    assert gap.last_appointment_id == "ap-2"
    queue = manual.manual_queue(p).items
    assert [e.appointment_id for e in queue] == ["ap-1", "ap-2"]

    with pytest.raises(BusinessRuleViolation) as not_there:
        manual.manual_assign(p, STAFF, "ap-1", ManualAssignRequest(provider_id=a, reason="x"), assign=assigned)
    assert not_there.value.code == "PROVIDER_CANNOT_SERVE"  # clinic A serves Shanghai only
    zj = onboard_provider(p, "Hangzhou Vet", regions=({"province": "330000"},))
    rec = manual.manual_assign(
        p, STAFF, "ap-1", ManualAssignRequest(provider_id=zj, reason="called the clinic"), assign=assigned
    )
    assert rec.state == "overridden" and rec.decision.step == "manual_override"
    assert rec.decision.decided_by == "ops:rita" and "called the clinic" in rec.decision.reason
    assert rec.history[0].step == "manual"
    assert assigned.calls[-1][:2] == ("ap-1", zj) and assigned.calls[-1][2]["step"] == "manual_override"
    assert [e.appointment_id for e in manual.manual_queue(p).items] == ["ap-2"]
    (trail,) = audit.by_entity(p, "appointment_dispatch", "ap-1")
    assert trail.action == "manual_assign" and trail.reason == "called the clinic"
    # the same request again hands it over again and records nothing new
    again = manual.manual_assign(
        p, STAFF, "ap-1", ManualAssignRequest(provider_id=zj, reason="called the clinic"), assign=assigned
    )
    assert again.version == rec.version and len(audit.by_entity(p, "appointment_dispatch", "ap-1")) == 1


def test_providers_that_cannot_take_an_order_are_left_out_with_the_reason(p, clinics):
    a, _, _ = clinics
    vaccines_only = onboard_provider(p, "Vaccines Only", services=("vaccination",))
    publish(p, rule({a: 40, vaccines_only: 30, "pv_unknown": 30}, capacity={a: 1, vaccines_only: 9, "pv_unknown": 9}))
    assigned = Assigned()
    rec = assignment.dispatch_one(p, message(1), assign=assigned)
    assert rec.decision.provider_id == a
    assert rec.decision.excluded == {
        vaccines_only: f"does not offer checkup (provider configuration v{config.live(p, vaccines_only).version})",
        "pv_unknown": "not an active, reviewed provider",
    }
    full = assignment.dispatch_one(p, message(2), assign=assigned)  # A used its one slot
    assert full.state == "manual" and full.decision.excluded[a] == "at full daily capacity"
    (gap,) = coverage.coverage_gaps(p).items
    assert (gap.region_code, gap.last_kind) == ("310115", "no_provider")
    assert counts(p) == ({a: 1}, 2)  # the total counts the order that went to the ops queue


def test_a_provider_deactivated_since_the_cached_list_is_not_assigned(p, clinics):
    a, b, _ = clinics
    publish(p, rule({a: 50, b: 50}))
    stale = directory.active_providers(p)
    assigned = Assigned()
    rec = assignment.dispatch_one(
        p,
        message(1),
        assign=assigned,
        providers=lambda _p: stale,
        confirm=lambda _p, pid: None if pid == a else directory.active_provider_config(_p, pid),
        rng=random.Random(0),
    )
    assert rec.decision.provider_id == b
    assert counts(p) == ({b: 1}, 1)
    if rec.decision.attempts > 1:  # A was picked first, confirmed inactive, then left out
        assert rec.decision.excluded[a] == "no longer an active, reviewed provider"


def test_midnight_initialises_the_days_counters_in_shanghai_time(p, clinics):
    a, b, c = clinics
    publish(p, rule({a: 50, b: 50}), rule({c: 100}, region="310000", service="vaccination"))
    p.clock = lambda: datetime(2026, 11, 22, 16, 0, 5, tzinfo=UTC)  # 00:00:05 on the 23rd in Shanghai
    out = counters.init_counters(p)
    assert out == {"date": "2026-11-23", "scopes": 2, "counters": 5, "created": 5}
    assert counts(p, day="2026-11-23") == ({a: 0, b: 0}, 0)
    assert counts(p, "310000#vaccination", "2026-11-23") == ({c: 0}, 0)
    assert counters.init_counters(p)["created"] == 0  # a second run changes nothing


def test_simulation_runs_a_draft_without_touching_the_store(p):
    before = dict(p.store.calls)
    out = simulation.simulate_draft(
        p,
        SimulationRequest.model_validate({"rules": [rule({"a": 50, "b": 30, "c": 20})], "orders": 10_000, "seed": 3}),
    )
    assert p.store.calls == before
    assert out.orders == 10_000 and out.manual == 0 and out.max_final_deviation_pp <= 0.5
    assert {o.provider_id: o.target_pct for o in out.providers} == {"a": 50.0, "b": 30.0, "c": 20.0}
    assert out.mix[0].district == "310115"
    with pytest.raises(InvalidInput) as exc:
        simulation.simulate_draft(
            p, SimulationRequest.model_validate({"rules": [rule({"a": 50, "b": 20})], "orders": 10})
        )
    assert exc.value.details[0]["actual_sum"] == 70
